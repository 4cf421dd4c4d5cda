/**
 * The Bun adapter: `Bun.listen` and `Bun.connect` for TCP, Unix sockets and TLS, and `startTLS()`
 * on `socket.upgradeTLS`. TLS is loaded when first asked for.
 *
 * @module
 */
import type { TlsServerEndpoint } from "../../src/endpoints/endpoints.ts";
import type { Factory } from "../../src/transport/factory.ts";
import type { ListeningPort, ListenOptions } from "../../src/transport/port.ts";

export * from "./socket.ts";
export { dial, listen, listenUnix, name } from "./tcp.ts";

/**
 * Listens for TLS with `Bun.listen({ tls })`; see `tls.ts`.
 *
 * @param factory Builds a protocol per connection.
 * @param endpoint The `ssl:` endpoint: address, certificate and key files, ALPN.
 * @param options Watermarks, limits, idle timeout (which also bounds the handshake).
 * @returns The listening port, once bound.
 * @throws {ListenError} For an unreadable file, a certificate that does not match its key, or an address that cannot be bound.
 */
export async function listenTls(factory: Factory, endpoint: TlsServerEndpoint, options: ListenOptions = {}): Promise<ListeningPort> {
  return (await import("./tls.ts")).listenTls(factory, endpoint, options);
}
