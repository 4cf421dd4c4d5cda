/**
 * Listens and connects with the adapter native to the runtime this runs on, or with the
 * `node:net` adapter when asked (Bun and Deno both implement `node:net`); the adapter is
 * loaded at the first use.
 *
 * @module
 */
import type { ConnectOptions, ConnectTarget, Dial } from "../src/endpoints/client.ts";
import {
  formatServerEndpoint,
  parseServerEndpoint,
  type ServerEndpoint,
  type TlsServerEndpoint,
  type UnixServerEndpoint,
} from "../src/endpoints/endpoints.ts";
import type { Factory } from "../src/transport/factory.ts";
import { ListenError, resolveListenOptions } from "../src/transport/listen_options.ts";
import type { ListeningPort, ListenOptions } from "../src/transport/port.ts";
import type { Protocol } from "../src/transport/protocol.ts";
import { type AdapterChoice, detectRuntime } from "./runtime.ts";

/** Options of {@link listen}: those of every adapter, and which adapter. */
export interface AutoListenOptions extends ListenOptions {
  /**
   * `native` for `Bun.listen`, `Deno.listen` or `node:net` on Node; `node` for `node:net` anywhere.
   * @default "native"
   */
  adapter?: AdapterChoice;
}

/** A listening port, and the name of the adapter that made it. */
export interface AutoListeningPort extends ListeningPort {
  /** `bun`, `deno` or `node:net`. */
  readonly adapter: string;
  /**
   * Reads an `ssl:` listener's certificate and key files again and uses them for handshakes from
   * now on; open connections keep theirs. Present only where the runtime can swap them in place
   * (the `node:tls` listener of the node adapter, on every runtime).
   *
   * @throws {ListenError} For an unreadable file or a certificate that does not match its key; the old ones stay in use.
   */
  reloadCertificate?(): void;
}

interface Adapter {
  name: string;
  listen(factory: Factory, options: ListenOptions): Promise<ListeningPort>;
  listenUnix(factory: Factory, endpoint: UnixServerEndpoint, options: ListenOptions): Promise<ListeningPort>;
  listenTls(factory: Factory, endpoint: TlsServerEndpoint, options: ListenOptions): Promise<ListeningPort>;
  dial: Dial;
}

/**
 * Loads the adapter for this runtime.
 *
 * @param choice `native` or `node`.
 * @returns The adapter module.
 * @throws {TypeError} For an unknown choice.
 */
export async function loadAdapter(choice: AdapterChoice = "native"): Promise<Adapter> {
  if (choice !== "native" && choice !== "node") {
    throw new TypeError(`Cannot use adapter '${String(choice)}': expected native or node`);
  }
  const runtime = detectRuntime().name;
  if (choice === "node" || runtime === "node") return await import("./node/mod.ts");
  return runtime === "bun" ? await import("./bun/mod.ts") : await import("./deno/mod.ts");
}

function denyWithoutNetPermission(host: string, port: number): void {
  const deno = (globalThis as { Deno?: { permissions: { querySync(d: { name: "net"; host: string }): { state: string } } } })
    .Deno;
  if (deno === undefined) return;
  const state = deno.permissions.querySync({ name: "net", host: port === 0 ? host : `${host}:${port}` }).state;
  // Asking first turns Deno's interactive prompt (or its stack trace) into one clear line.
  if (state !== "granted") {
    throw new ListenError(
      `Cannot listen on ${host}:${port}: network access denied; run deno with --allow-net`,
      "ENOTCAPABLE",
    );
  }
}

/**
 * Listens on this runtime, as `TCP4ServerEndpoint(reactor, port).listen(factory)` does in Twisted.
 *
 * @param factory Builds a protocol per connection.
 * @param options Address, adapter, watermarks.
 * @returns The listening port, once bound.
 * @throws {RangeError} For a port out of range.
 * @throws {ListenError} If the address cannot be bound or (on Deno) network access is denied.
 * @example
 * ```ts
 * import { listen } from "./mod.ts";
 * import { EchoFactory } from "../src/mod.ts";
 * const port = await listen(new EchoFactory(), { port: 0 });
 * console.log(port.address.port, port.adapter);
 * await port.close();
 * ```
 */
export async function listen(factory: Factory, options: AutoListenOptions = {}): Promise<AutoListeningPort> {
  const { host, port } = resolveListenOptions(options);
  const adapter = await loadAdapter(options.adapter);
  denyWithoutNetPermission(host, port);
  const listening = await adapter.listen(factory, options);
  return Object.assign(listening, { adapter: adapter.name });
}

/** Options of {@link connect}: those of every connection, and which adapter. */
export interface AutoConnectOptions extends ConnectOptions {
  /**
   * `native` for `Bun.connect`, `Deno.connect` or `node:net` on Node; `node` for `node:net` anywhere.
   * @default "native"
   */
  adapter?: AdapterChoice;
}

/**
 * Connects out, as Twisted's `clientFromString(reactor, target).connect(factory)`. A
 * `ClientFactory` also hears `clientConnectionFailed` and `clientConnectionLost`; a
 * `ReconnectingClientFactory` keeps reconnecting, and the promise waits for its first success.
 *
 * @param factory Builds the protocol.
 * @param target `tcp:host=H:port=P[:timeout=S]`, a parsed endpoint, or `{ host, port, timeout }` (milliseconds).
 * @param options Adapter, watermarks, idle timeout.
 * @returns The connected protocol, once `connectionMade` has run.
 * @throws {TypeError} For a malformed target (the promise rejects).
 * @throws {ConnectError} With a code such as `ECONNREFUSED` or `ETIMEDOUT`, if connecting fails (the promise rejects).
 * @example
 * ```ts
 * import { connect, listen } from "./mod.ts";
 * import { EchoFactory, Protocol } from "../src/mod.ts";
 * const port = await listen(new EchoFactory(), { port: 0 });
 * const client = await connect(new EchoFactory(), `tcp:host=127.0.0.1:port=${port.address.port}`);
 * client.transport.loseConnection();
 * await port.close();
 * ```
 */
export async function connect<P extends Protocol>(
  factory: Factory<P>,
  target: ConnectTarget,
  options: AutoConnectOptions = {},
): Promise<P> {
  const adapter = await loadAdapter(options.adapter);
  // Loaded here: a server, which only listens, starts without the client's code.
  const { startConnecting } = await import("../src/endpoints/client.ts");
  return (await startConnecting(adapter.dial, factory, target, options).first) as P;
}

/**
 * Connects one protocol instance, as Twisted's `connectProtocol(endpoint, protocol)`.
 *
 * @param protocol The protocol to connect.
 * @param target Where to connect, as for {@link connect}.
 * @param options Adapter, watermarks, idle timeout.
 * @returns The same protocol, once `connectionMade` has run.
 * @throws {ConnectError} If connecting fails (the promise rejects).
 * @example
 * ```ts
 * import { connectProtocol, listen } from "./mod.ts";
 * import { EchoFactory, Protocol } from "../src/mod.ts";
 * const port = await listen(new EchoFactory(), { port: 0 });
 * const p = await connectProtocol(new Protocol(), { host: "127.0.0.1", port: port.address.port });
 * p.transport.loseConnection();
 * await port.close();
 * ```
 */
export function connectProtocol<P extends Protocol>(protocol: P, target: ConnectTarget, options: AutoConnectOptions = {}): Promise<P> {
  return import("../src/endpoints/client.ts").then(({ factoryFor }) => connect(factoryFor(protocol), target, options));
}

/**
 * Listens on an endpoint, as Twisted's `serverFromString(reactor, description).listen(factory)`:
 * `tcp:8000:interface=127.0.0.1`, `tcp6:8000:interface=\\:\\:1`, `unix:/tmp/echo.sock:mode=660`.
 *
 * @param factory Builds a protocol per connection.
 * @param endpoint An endpoint string or its parsed description.
 * @param options Adapter, limits, watermarks.
 * @returns The listening port, once bound.
 * @throws {TypeError} For a malformed endpoint string, or a `udp:` one (see `listenUDPEndpoint`).
 * @throws {RangeError} For a bad port, backlog or mode.
 * @throws {ListenError} If the endpoint cannot be bound.
 * @example
 * ```ts
 * import { listenEndpoint } from "./mod.ts";
 * import { EchoFactory } from "../src/mod.ts";
 * const port = await listenEndpoint(new EchoFactory(), "tcp:0");
 * await port.close();
 * ```
 */
export async function listenEndpoint(
  factory: Factory,
  endpoint: string | ServerEndpoint,
  options: AutoListenOptions = {},
): Promise<AutoListeningPort> {
  const e = typeof endpoint === "string" ? parseServerEndpoint(endpoint) : endpoint;
  if (e.type === "udp") {
    throw new TypeError(`Cannot listen on '${formatServerEndpoint(e)}' with a factory: serve udp: with listenUDPEndpoint`);
  }
  if (e.proxyProtocol === true) options = { ...options, proxyProtocol: true };
  if (e.type === "tcp" || e.type === "tcp6") return listen(factory, { ...options, host: e.host, port: e.port });
  const adapter = await loadAdapter(options.adapter);
  if (e.type === "unix") return Object.assign(await adapter.listenUnix(factory, e, options), { adapter: adapter.name });
  return Object.assign(await adapter.listenTls(factory, e as TlsServerEndpoint, options), { adapter: adapter.name });
}
