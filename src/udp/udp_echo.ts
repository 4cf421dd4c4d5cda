import { type DatagramAddress, DatagramProtocol } from "./datagram_protocol.ts";
import { TokenBuckets } from "./token_bucket.ts";

/** Options of {@link EchoDatagramProtocol}. */
export interface EchoDatagramOptions {
  /**
   * Datagrams from source ports below this are not answered: another echo, chargen or
   * time service there would ping-pong with us for ever. 0 answers every port.
   * @default 1024
   */
  minSourcePort?: number;
  /**
   * Datagrams answered per second per source address (a token bucket); past it they
   * are dropped. 0 turns the limit off.
   * @default 1000
   */
  rate?: number;
  /**
   * Datagrams a source may send at once after a quiet spell.
   * @default rate
   */
  burst?: number;
  /**
   * Datagrams longer than this, in bytes, are not answered.
   * @default 65507
   */
  maxDatagramSize?: number;
  /**
   * The clock for the rate limit, in milliseconds; tests pass a fake one.
   * @default Date.now
   */
  now?: () => number;
}

/** A snapshot of what an {@link EchoDatagramProtocol} answered and what its guards dropped. */
export interface EchoDatagramMetrics {
  /** Datagrams echoed back. */
  readonly datagramsAnswered: number;
  /** Bytes echoed back. */
  readonly bytesAnswered: number;
  /** Datagrams not answered because their source port is below `minSourcePort` (loop protection). */
  readonly droppedLowPort: number;
  /** Datagrams not answered because their source was over the rate. */
  readonly droppedRateLimit: number;
  /** Datagrams not answered because they were longer than `maxDatagramSize`. */
  readonly droppedOversized: number;
}

/**
 * Sends every datagram back to its sender, as Twisted's UDP echo (RFC 862), with the
 * guards a UDP echo needs against being used as a reflector or a loop: sources on
 * ports below `minSourcePort` are ignored and each source address is rate-limited.
 * It counts what it did.
 *
 * @example
 * ```ts
 * import { EchoDatagramProtocol } from "./udp_echo.ts";
 * const echo = new EchoDatagramProtocol({ rate: 100 });
 * const sent: string[] = [];
 * echo.makeConnection({
 *   write: (d, a) => sent.push(`${String(d)} to ${a.port}`),
 *   getHost: () => ({ type: "UDP", host: "127.0.0.1", port: 7 }),
 *   stopListening: async () => {},
 * });
 * echo.datagramReceived(new TextEncoder().encode("hi"), { type: "UDP", host: "127.0.0.1", port: 19 });
 * echo.ignoredPorts; // 1: port 19 (chargen) is not answered
 * ```
 */
export class EchoDatagramProtocol extends DatagramProtocol {
  /** Datagrams echoed. */
  datagramsEchoed = 0;
  /** Bytes echoed. */
  bytesEchoed = 0;
  /** Datagrams not answered because their source port is below `minSourcePort`. */
  ignoredPorts = 0;
  /** Datagrams not answered because their source was over the rate. */
  rateLimited = 0;
  /** Datagrams not answered because they were longer than `maxDatagramSize`. */
  oversized = 0;
  readonly minSourcePort: number;
  readonly maxDatagramSize: number;
  readonly #buckets: TokenBuckets | undefined;

  /**
   * @param options Source-port floor, rate limit and size limit.
   * @throws {RangeError} If an option is out of range.
   */
  constructor(options: EchoDatagramOptions = {}) {
    super();
    this.minSourcePort = options.minSourcePort ?? 1024;
    this.maxDatagramSize = options.maxDatagramSize ?? 65_507;
    const rate = options.rate ?? 1000;
    if (!(Number.isInteger(this.minSourcePort) && this.minSourcePort >= 0 && this.minSourcePort <= 65536)) {
      throw new RangeError(`Cannot echo with minSourcePort ${this.minSourcePort}: must be an integer from 0 to 65536`);
    }
    if (!(typeof rate === "number" && rate >= 0)) {
      throw new RangeError(`Cannot echo with rate ${String(rate)}: must be a number of at least 0`);
    }
    this.#buckets = rate === 0 ? undefined : new TokenBuckets({ rate, burst: options.burst, now: options.now });
  }

  /**
   * What it has answered and dropped so far.
   *
   * @returns A frozen snapshot, a new object each call.
   */
  metrics(): EchoDatagramMetrics {
    return Object.freeze({
      datagramsAnswered: this.datagramsEchoed,
      bytesAnswered: this.bytesEchoed,
      droppedLowPort: this.ignoredPorts,
      droppedRateLimit: this.rateLimited,
      droppedOversized: this.oversized,
    });
  }

  override datagramReceived(data: Uint8Array, address: DatagramAddress): void {
    if (address.port < this.minSourcePort) {
      this.ignoredPorts++;
      return;
    }
    if (data.length > this.maxDatagramSize) {
      this.oversized++;
      return;
    }
    if (this.#buckets !== undefined && !this.#buckets.take(address.host)) {
      this.rateLimited++;
      return;
    }
    this.datagramsEchoed++;
    this.bytesEchoed += data.length;
    this.transport.write(data, address);
  }
}
