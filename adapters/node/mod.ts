/**
 * The `node:net` adapter: `node:net` for TCP and Unix sockets, `node:tls` for TLS and
 * `startTLS()`. Native on Node; Bun and Deno run it through their Node compatibility layers.
 * TLS is loaded when first asked for.
 *
 * @module
 */
import type { TlsServerEndpoint } from "../../src/endpoints/endpoints.ts";
import type { Factory } from "../../src/transport/factory.ts";
import type { ListeningPort, ListenOptions } from "../../src/transport/port.ts";

export { dial, listen, listenUnix, name } from "./tcp.ts";

/**
 * Listens for TLS with `node:tls`; see `tls.ts`.
 *
 * @param factory Builds a protocol per connection.
 * @param endpoint The `ssl:` endpoint: address, certificate and key files, ALPN.
 * @param options Watermarks, limits, idle timeout.
 * @returns The listening port, once bound.
 * @throws {ListenError} For an unreadable file, a certificate that does not match its key, or an address that cannot be bound.
 */
export async function listenTls(factory: Factory, endpoint: TlsServerEndpoint, options: ListenOptions = {}): Promise<ListeningPort> {
  return (await import("./tls.ts")).listenTls(factory, endpoint, options);
}
