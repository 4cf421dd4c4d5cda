/**
 * A service for an endpoint string, as Twisted's `strports.service`.
 *
 * @module
 */
import type { AutoListenOptions } from "../adapters/listen.ts";
import { formatServerEndpoint, parseServerEndpoint, type ServerEndpoint } from "../src/endpoints/endpoints.ts";
import type { Factory } from "../src/transport/factory.ts";
import { DatagramProtocol } from "../src/udp/datagram_protocol.ts";
import { DatagramServerEndpointService } from "./datagram_service.ts";
import { StreamServerEndpointService } from "./endpoint_service.ts";

/**
 * A service for an endpoint string, as Twisted's `strports.service`: a factory for stream
 * endpoints, a {@link DatagramProtocol} for `udp:`.
 *
 * @param description The endpoint string, e.g. `tcp:8000`, `unix:/tmp/s.sock`, `udp:7`.
 * @param target The factory, or the datagram protocol for `udp:`.
 * @param options Adapter, limits and watermarks.
 * @returns The service, not yet started.
 * @throws {TypeError} For a malformed string, or a target that does not fit the endpoint.
 * @throws {RangeError} For a bad port, backlog or mode.
 * @example
 * ```ts
 * import { service } from "./strports.ts";
 * import { EchoFactory } from "../src/mod.ts";
 * const echo = service("tcp:0", new EchoFactory());
 * await echo.startService();
 * await echo.stopService();
 * ```
 */
export function service(
  description: string | ServerEndpoint,
  target: Factory | DatagramProtocol,
  options: AutoListenOptions = {},
): StreamServerEndpointService | DatagramServerEndpointService {
  const e = typeof description === "string" ? parseServerEndpoint(description) : description;
  if (e.type === "udp") {
    if (!(target instanceof DatagramProtocol)) {
      throw new TypeError(`Cannot serve '${formatServerEndpoint(e)}': udp: takes a DatagramProtocol, not a factory`);
    }
    return new DatagramServerEndpointService(e, target, { adapter: options.adapter, log: options.log });
  }
  if (target instanceof DatagramProtocol) {
    throw new TypeError(`Cannot serve '${formatServerEndpoint(e)}' with a DatagramProtocol: only udp: takes one`);
  }
  return new StreamServerEndpointService(e, target, options);
}
