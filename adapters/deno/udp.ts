/**
 * The Deno UDP adapter, on `Deno.listenDatagram` (needs `--unstable-net`, or
 * `"unstable": ["net"]` in `deno.json`).
 *
 * @module
 */
import { ListenError, listenError } from "../../src/transport/listen_options.ts";
import {
  type DatagramListenOptions,
  DatagramPort,
  type DatagramSocket,
  MAX_DATAGRAM_SIZE,
  resolveDatagramOptions,
} from "../../src/udp/datagram_port.ts";
import { type DatagramProtocol, udpAddress } from "../../src/udp/datagram_protocol.ts";

/** The adapter's name, as printed on start. */
export const name = "deno";

type NetAddr = { transport: "udp"; hostname: string; port: number };

/** The slice of `Deno.DatagramConn` this adapter uses. */
export interface DenoDatagramConn {
  receive(p?: Uint8Array): Promise<[Uint8Array, { transport: string }]>;
  send(p: Uint8Array, addr: NetAddr): Promise<number>;
  close(): void;
  readonly addr: { transport: string };
}

/** The slice of the `Deno` global this adapter uses. */
export interface DenoDatagramApi {
  listenDatagram?: (options: { hostname: string; port: number; transport: "udp" }) => DenoDatagramConn;
}

// Sends are async on Deno; past this many in flight a datagram is dropped rather than queued without bound.
const MAX_IN_FLIGHT = 1024;

class DenoDatagramSocket implements DatagramSocket {
  port!: DatagramPort;
  readonly #conn: DenoDatagramConn;
  #inFlight = 0;
  #closed = false;
  readonly #done = () => this.#inFlight--;
  readonly #failed = () => {
    this.#inFlight--;
    if (!this.#closed) this.port.sendFailed();
  };

  constructor(conn: DenoDatagramConn) {
    this.#conn = conn;
  }

  send(data: Uint8Array, host: string, port: number): boolean {
    if (this.#inFlight >= MAX_IN_FLIGHT) return false;
    this.#inFlight++;
    this.#conn.send(data, { transport: "udp", hostname: host, port }).then(this.#done, this.#failed);
    return true;
  }

  async receiveLoop(): Promise<void> {
    // One datagram at most 64 KiB, so one buffer of that size never truncates one.
    const buffer = new Uint8Array(MAX_DATAGRAM_SIZE + 29);
    while (!this.#closed) {
      let data: Uint8Array;
      let from: { transport: string };
      try {
        [data, from] = await this.#conn.receive(buffer);
      } catch (error) {
        // An error for one datagram is not worth a crash; a closed socket ends the loop.
        if (this.#closed || (error as Error).name === "BadResource" || (error as Error).name === "Interrupted") return;
        continue;
      }
      const addr = from as NetAddr;
      this.port.received(data.slice(), addr.hostname, addr.port);
    }
  }

  close(): void {
    this.#closed = true;
    this.#conn.close();
  }
}

/**
 * Binds a UDP socket with `Deno.listenDatagram` and serves `protocol` on it.
 *
 * @param protocol The protocol; its `startProtocol` runs once bound.
 * @param options Address and error reporting.
 * @returns The bound port.
 * @throws {RangeError} For a port out of range.
 * @throws {ListenError} If the address cannot be bound, or Deno runs without `--unstable-net`.
 * @example
 * ```ts
 * import { listenUDP } from "./udp.ts";
 * import { EchoDatagramProtocol } from "../../src/mod.ts";
 * const port = await listenUDP(new EchoDatagramProtocol(), { port: 0 });
 * await port.close();
 * ```
 */
export function listenUDP(protocol: DatagramProtocol, options: DatagramListenOptions = {}): Promise<DatagramPort> {
  const { host, port } = resolveDatagramOptions(options);
  const api = (globalThis as { Deno?: DenoDatagramApi }).Deno;
  if (api === undefined) return Promise.reject(new TypeError("Cannot use the deno UDP adapter: not running on Deno"));
  if (typeof api.listenDatagram !== "function") {
    return Promise.reject(
      new ListenError(
        `Cannot listen on UDP ${host}:${port}: Deno.listenDatagram is unstable; run deno with --unstable-net (or add "unstable": ["net"] to deno.json)`,
        "EUNSTABLE",
      ),
    );
  }
  let conn: DenoDatagramConn;
  try {
    conn = api.listenDatagram({ hostname: host, port, transport: "udp" });
  } catch (error) {
    return Promise.reject(listenError(host, port, error));
  }
  const socket = new DenoDatagramSocket(conn);
  const bound = new DatagramPort(socket, udpAddress(host, (conn.addr as NetAddr).port), protocol, options);
  socket.port = bound;
  void socket.receiveLoop();
  return Promise.resolve(bound);
}
