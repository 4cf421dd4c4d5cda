/**
 * The Deno adapter: `Deno.listen` and `Deno.connect` for TCP and Unix sockets, `Deno.listenTls`
 * and `Deno.connectTls` for TLS, and client-side `startTLS()` on `Deno.startTls`. TLS is loaded
 * when first asked for.
 *
 * @module
 */
import type { TlsServerEndpoint } from "../../src/endpoints/endpoints.ts";
import type { Factory } from "../../src/transport/factory.ts";
import type { ListeningPort, ListenOptions } from "../../src/transport/port.ts";

export * from "./socket.ts";
export { dial, listen, name } from "./tcp.ts";
export { listenUnix } from "./unix.ts";

/**
 * Listens for TLS with `Deno.listenTls`; see `tls.ts`. Needs `--allow-net --allow-read`.
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
