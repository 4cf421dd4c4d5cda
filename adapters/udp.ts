/**
 * `listenUDP`: binds a UDP socket with the adapter native to this runtime, or with
 * `node:dgram` when asked (Bun and Deno both implement it).
 *
 * @module
 */
import { formatServerEndpoint, parseServerEndpoint, type UdpServerEndpoint } from "../src/endpoints/endpoints.ts";
import { ListenError } from "../src/transport/listen_options.ts";
import type { DatagramListenOptions, ListeningDatagramPort } from "../src/udp/datagram_port.ts";
import type { DatagramProtocol } from "../src/udp/datagram_protocol.ts";
import { type AdapterChoice, detectRuntime } from "./runtime.ts";

/** Options of {@link listenUDP}: address, error reporting, and which adapter. */
export interface AutoDatagramListenOptions extends DatagramListenOptions {
  /**
   * `native` for `Bun.udpSocket`, `Deno.listenDatagram` or `node:dgram` on Node; `node` for `node:dgram` anywhere.
   * @default "native"
   */
  adapter?: AdapterChoice;
}

/** A bound UDP socket, and the name of the adapter that made it. */
export interface AutoListeningDatagramPort extends ListeningDatagramPort {
  /** `bun`, `deno` or `node:dgram`. */
  readonly adapter: string;
}

/**
 * Binds a UDP socket on this runtime and serves `protocol` on it, as Twisted's
 * `reactor.listenUDP(port, protocol, interface)`.
 *
 * @param protocol The protocol; one instance serves every sender.
 * @param options Address, adapter, error reporting.
 * @returns The bound port.
 * @throws {RangeError} For a port out of range.
 * @throws {TypeError} For an unknown adapter.
 * @throws {ListenError} If the address cannot be bound, or (on Deno) `--unstable-net` is missing.
 * @example
 * ```ts
 * import { listenUDP } from "./udp.ts";
 * import { EchoDatagramProtocol } from "../src/mod.ts";
 * const port = await listenUDP(new EchoDatagramProtocol(), { port: 0 });
 * console.log(port.address.port, port.adapter);
 * await port.close();
 * ```
 */
export async function listenUDP(
  protocol: DatagramProtocol,
  options: AutoDatagramListenOptions = {},
): Promise<AutoListeningDatagramPort> {
  const choice = options.adapter ?? "native";
  if (choice !== "native" && choice !== "node") {
    throw new TypeError(`Cannot use adapter '${String(choice)}': expected native or node`);
  }
  const runtime = detectRuntime().name;
  const adapter = choice === "node" || runtime === "node"
    ? await import("./node/udp.ts")
    : runtime === "bun"
    ? await import("./bun/udp.ts")
    : await import("./deno/udp.ts");
  try {
    const port = await adapter.listenUDP(protocol, options);
    return Object.assign(port, { adapter: adapter.name });
  } catch (error) {
    // The adapters share TCP's one-line errors; say which protocol could not be bound.
    if (!(error instanceof ListenError) || error.message.startsWith("Cannot listen on UDP")) throw error;
    const message = error.message.replace("Cannot listen on ", "Cannot listen on UDP ");
    throw new ListenError(message, error.code, { cause: error.cause });
  }
}

/**
 * Binds a UDP socket on an endpoint string, as {@link listenUDP}: `udp:PORT[:interface=ADDR]`,
 * IPv6 escaped as in `tcp6:` (`udp:7:interface=\:\:1`). Twine's own: Twisted's
 * `serverFromString` has no `udp:`.
 *
 * @param protocol The protocol; one instance serves every sender.
 * @param endpoint A `udp:` endpoint string or its parsed description.
 * @param options Adapter and error reporting.
 * @returns The bound port.
 * @throws {TypeError} For a malformed string, or an endpoint that is not `udp:`.
 * @throws {RangeError} For a bad port.
 * @throws {ListenError} If the address cannot be bound, or (on Deno) `--unstable-net` is missing.
 * @example
 * ```ts
 * import { listenUDPEndpoint } from "./udp.ts";
 * import { EchoDatagramProtocol } from "../src/mod.ts";
 * const port = await listenUDPEndpoint(new EchoDatagramProtocol(), "udp:0:interface=127.0.0.1");
 * await port.close();
 * ```
 */
export function listenUDPEndpoint(
  protocol: DatagramProtocol,
  endpoint: string | UdpServerEndpoint,
  options: Omit<AutoDatagramListenOptions, "host" | "port"> = {},
): Promise<AutoListeningDatagramPort> {
  const e = typeof endpoint === "string" ? parseServerEndpoint(endpoint) : endpoint;
  if (e.type !== "udp") {
    throw new TypeError(`Cannot listen for datagrams on '${formatServerEndpoint(e)}': not a udp: endpoint`);
  }
  return listenUDP(protocol, { ...options, host: e.host, port: e.port });
}
