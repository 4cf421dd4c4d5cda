import { type Address, formatAddress } from "../transport/address.ts";
import type { Reason } from "../transport/errors.ts";
import type { Factory } from "../transport/factory.ts";
import { Protocol } from "../transport/protocol.ts";
import { ProxyHeaderParser } from "./proxy_header.ts";
import type { RateLimitedLog } from "../transport/rate_limited_log.ts";
import type { TlsInfo } from "../transport/socket.ts";
import { StartTlsError, type StartTlsOptions } from "../transport/start_tls.ts";
import type { Producer, Transport } from "../transport/transport.ts";

/** What a connection that can switch to TLS offers, as `Connection` does. */
interface Upgradable {
  startTLS?(options: StartTlsOptions): Promise<void>;
  getTlsInfo?(): TlsInfo | undefined;
}

/** The default time a PROXY header may take to arrive, in milliseconds. */
export const DEFAULT_PROXY_HEADER_TIMEOUT = 3000;

/** The transport the wrapped protocol sees: the connection, but with the addresses from the header. */
class ProxiedTransport implements Transport {
  readonly #inner: Transport;
  readonly #peer: Address;
  readonly #host: Address;

  constructor(inner: Transport, peer: Address, host: Address) {
    this.#inner = inner;
    this.#peer = peer;
    this.#host = host;
  }

  write(data: Uint8Array | string): void {
    this.#inner.write(data);
  }
  writeSequence(data: Iterable<Uint8Array | string>): void {
    this.#inner.writeSequence(data);
  }
  loseConnection(reason?: Reason): void {
    this.#inner.loseConnection(reason);
  }
  loseWriteConnection(): void {
    this.#inner.loseWriteConnection();
  }
  abortConnection(): void {
    this.#inner.abortConnection();
  }
  getPeer(): Address {
    return this.#peer;
  }
  getHost(): Address {
    return this.#host;
  }
  get bufferSize(): number {
    return this.#inner.bufferSize;
  }
  get disconnecting(): boolean {
    return this.#inner.disconnecting;
  }
  registerProducer(producer: Producer): void {
    this.#inner.registerProducer(producer);
  }
  unregisterProducer(): void {
    this.#inner.unregisterProducer();
  }
  pauseProducing(): void {
    this.#inner.pauseProducing();
  }
  resumeProducing(): void {
    this.#inner.resumeProducing();
  }
  stopProducing(): void {
    this.#inner.stopProducing?.();
  }

  /**
   * Upgrades the connection underneath, as `Connection.startTLS()`: a STARTTLS protocol
   * works behind a proxy as it does without one.
   *
   * @param options The side of the handshake this end plays, and its files.
   * @returns Settles as the connection's own `startTLS()` does.
   */
  startTLS(options: StartTlsOptions): Promise<void> {
    const inner = this.#inner as Transport & Upgradable;
    if (inner.startTLS === undefined) {
      const error = new StartTlsError(`Cannot start TLS on the connection with ${formatAddress(this.#peer)}: this transport cannot upgrade a connection`);
      return Promise.reject(error);
    }
    return inner.startTLS(options);
  }

  /**
   * What TLS agreed on, from the connection underneath.
   *
   * @returns The TLS details, or `undefined` before `startTLS()` or without TLS.
   */
  getTlsInfo(): TlsInfo | undefined {
    return (this.#inner as Transport & Upgradable).getTlsInfo?.();
  }
}

/**
 * Reads the PROXY protocol header (v1 or v2) before anything else, as Twisted's
 * `HAProxyWrappingFactory`: only then does it build the factory's protocol, with the
 * original client as the address, and hand it a transport whose `getPeer()` and
 * `getHost()` are the original client and destination. A missing, malformed, truncated
 * or oversized header, or one that is not complete within `timeout`, aborts the
 * connection and logs one line (at most one a second for the port).
 */
export class ProxyProtocolReceiver extends Protocol {
  readonly #factory: Factory;
  readonly #log: RateLimitedLog;
  readonly #timeout: number;
  readonly #parser = new ProxyHeaderParser();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The factory's protocol, once the header has been read. */
  wrapped: Protocol | undefined;

  /**
   * @param factory Builds the protocol once the header is read.
   * @param log The port's rate-limited log.
   * @param timeout How long the header may take, in milliseconds.
   */
  constructor(factory: Factory, log: RateLimitedLog, timeout = DEFAULT_PROXY_HEADER_TIMEOUT) {
    super();
    this.#factory = factory;
    this.#log = log;
    this.#timeout = timeout;
  }

  // Until the header is read, every byte kept is copied by the parser; after it, the wrapped protocol decides.
  override keepsData = false;

  override connectionMade(): void {
    this.#timer = setTimeout(() => this.#reject(`no complete PROXY protocol header within ${this.#timeout / 1000} s`), this.#timeout);
  }

  override dataReceived(data: Uint8Array): void {
    const wrapped = this.wrapped;
    if (wrapped !== undefined) {
      wrapped.dataReceived(data);
      return;
    }
    const result = this.#parser.feed(data);
    if (result.status === "incomplete") return;
    clearTimeout(this.#timer);
    if (result.status === "invalid") {
      this.#reject(result.reason);
      return;
    }
    const { source, destination } = result.header;
    const peer = source ?? this.transport.getPeer();
    const host = destination ?? this.transport.getHost();
    const protocol = this.#factory.buildProtocol(peer);
    if (protocol === null) {
      this.transport.loseConnection();
      return;
    }
    this.wrapped = protocol;
    this.keepsData = protocol.keepsData;
    protocol.makeConnection(new ProxiedTransport(this.transport, peer, host));
    // The rest lies in the parser's own copy, never in a lent read buffer: any protocol may keep it.
    if (result.rest.length > 0 && !this.transport.disconnecting) protocol.dataReceived(result.rest);
  }

  override readConnectionLost(): void {
    if (this.wrapped !== undefined) this.wrapped.readConnectionLost();
    else this.#reject("connection closed before a complete PROXY protocol header");
  }

  override connectionLost(reason: Reason): void {
    clearTimeout(this.#timer);
    const wrapped = this.wrapped;
    if (wrapped === undefined) return;
    wrapped.connected = false;
    wrapped.connectionLost(reason);
  }

  #reject(reason: string): void {
    if (this.transport.disconnecting) return;
    const peer = formatAddress(this.transport.getPeer());
    this.#log.write(`Closed a connection from ${peer}: ${reason}`, {
      event: "proxy_header_rejected",
      level: "warn",
      peer,
      fields: { reason },
    });
    this.transport.abortConnection();
  }
}
