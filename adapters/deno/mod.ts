/**
 * The Deno adapter: `Deno.listen` and `Deno.connect` for TCP and Unix sockets, `Deno.listenTls`
 * and `Deno.connectTls` for TLS, and client-side `startTLS()` on `Deno.startTls`. TLS and Unix
 * sockets are loaded when first asked for (the Unix socket's file handling needs `node:fs`, which
 * takes Deno milliseconds to load).
 *
 * @module
 */
import type { TlsServerEndpoint, UnixServerEndpoint } from "../../src/endpoints/endpoints.ts";
import type { Factory } from "../../src/transport/factory.ts";
import type { ListeningPort, ListenOptions } from "../../src/transport/port.ts";

export * from "./socket.ts";
export { dial, listen, name } from "./tcp.ts";

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

/**
 * Listens on a Unix domain socket with `Deno.listen({ transport: "unix" })`; see `unix.ts`.
 * Needs `--allow-read --allow-write`.
 *
 * @param factory Builds a protocol per connection.
 * @param endpoint The socket's path and mode.
 * @param options Watermarks, limits and error reporting.
 * @returns The listening port, once bound; closing it removes the socket file.
 * @throws {ListenError} If the path is too long, taken by a live server, or not writable.
 */
export async function listenUnix(factory: Factory, endpoint: UnixServerEndpoint, options: ListenOptions = {}): Promise<ListeningPort> {
  return (await import("./unix.ts")).listenUnix(factory, endpoint, options);
}
