/**
 * The Bun adapter, on `Bun.listen`.
 *
 * @module
 */
import type { Dial } from "../../src/endpoints/client.ts";
import type { ClientEndpoint, UnixServerEndpoint } from "../../src/endpoints/endpoints.ts";
import { tcpAddress, unixAddress } from "../../src/transport/address.ts";
import type { Factory } from "../../src/transport/factory.ts";
import { listenError, resolveListenOptions } from "../../src/transport/listen_options.ts";
import { type ListeningPort, type ListenOptions, Port, preparePort } from "../../src/transport/port.ts";
import type { Socket } from "../../src/transport/socket.ts";
import type { StartTlsOptions } from "../../src/transport/start_tls.ts";
import {
  attachConnection,
  type BunHandlers,
  type BunListener,
  type BunSocket,
  BunTCPSocket,
  bunApi,
  localAddresses,
  socketHandlers,
} from "./socket.ts";

/** The adapter's name, as printed on start. */
export const name = "bun";

/** The slice of `Bun.listen` for Unix sockets. */
interface BunUnixApi {
  listen(options: { unix: string; allowHalfOpen: boolean; socket: BunHandlers }): { stop(closeActive?: boolean): void };
}

/** A plaintext socket: the one kind that `startTLS()` can upgrade. */
class BunPlainSocket extends BunTCPSocket {
  startTls(options: StartTlsOptions): Promise<Socket> {
    // Loaded when first used; the plaintext socket is paused meanwhile, so Bun reads nothing.
    return import("./start_tls.ts").then((m) => m.upgradeBunSocket(this.sock, this, options));
  }
}

const plainSocket = (sock: BunSocket): BunTCPSocket => new BunPlainSocket(sock);

/**
 * Listens with `Bun.listen`.
 *
 * @param factory Builds a protocol per connection.
 * @param options Address, watermarks and error reporting.
 * @returns The listening port, once bound.
 * @throws {RangeError} For a port out of range.
 * @throws {ListenError} If the address cannot be bound.
 * @example
 * ```ts
 * import { listen } from "./tcp.ts";
 * import { EchoFactory } from "../../src/mod.ts";
 * const port = await listen(new EchoFactory(), { port: 0 });
 * await port.close();
 * ```
 */
export async function listen(factory: Factory, options: ListenOptions = {}): Promise<ListeningPort> {
  const { host, port } = resolveListenOptions(options);
  await preparePort(options);
  const api = bunApi();
  let listening: Port | undefined;
  const local = localAddresses(() => listening!.address);
  const handlers = socketHandlers((sock, socket) => {
    listening!.accept(socket, tcpAddress(sock.remoteAddress, sock.remotePort), local(sock), attachConnection);
  }, plainSocket);
  let listener: BunListener;
  try {
    // exclusive: without it Bun binds with SO_REUSEPORT and a second server on the
    // same port would silently share it instead of failing.
    const reusePort = options.reusePort === true;
    listener = api.listen({ hostname: host, port, exclusive: !reusePort, reusePort, allowHalfOpen: true, socket: handlers });
  } catch (error) {
    return Promise.reject(listenError(host, port, error));
  }
  // Bun's listener repeats the name it was given; for localhost it binds 127.0.0.1 (checked with ss),
  // which is what the other adapters report.
  const boundHost = listener.hostname === "localhost" ? "127.0.0.1" : listener.hostname;
  listening = new Port(factory, tcpAddress(boundHost, listener.port), options, () => listener.stop(false));
  return Promise.resolve(listening);
}

/**
 * Opens one client connection with `Bun.connect`; the core's `Connector` calls it.
 *
 * @param endpoint Where to connect.
 * @param open Builds the connection once the socket is open.
 * @returns Settles once connected, or rejects with the runtime's error.
 */
export const dial: Dial = async (endpoint: ClientEndpoint, open) => {
  if (endpoint.type === "tls") return (await import("./tls.ts")).dialTls(endpoint, open);
  const unix = endpoint.type === "unix";
  const socket = socketHandlers((sock, socket) => {
    const peer = unix ? unixAddress(endpoint.path) : tcpAddress(sock.remoteAddress, sock.remotePort);
    const local = unix ? unixAddress("") : tcpAddress(sock.localAddress, sock.localPort);
    open(socket, peer, local, (connection) => {
      socket.connection = connection;
    });
  }, plainSocket);
  const where = unix ? { unix: endpoint.path } : { hostname: endpoint.host, port: endpoint.port };
  await bunApi().connect({ ...where, allowHalfOpen: true, socket });
};

/**
 * Listens on a Unix domain socket with `Bun.listen({ unix })`.
 *
 * @param factory Builds a protocol per connection.
 * @param endpoint The socket's path and mode.
 * @param options Watermarks, limits and error reporting.
 * @returns The listening port, once bound; closing it removes the socket file.
 * @throws {ListenError} If the path is too long, taken by a live server, or not writable.
 */
export async function listenUnix(factory: Factory, endpoint: UnixServerEndpoint, options: ListenOptions = {}): Promise<ListeningPort> {
  const { path } = endpoint;
  // Loaded here: a TCP server starts without them (unix_path.ts loads node:fs).
  const [{ UnixPort }, { closeUnixListener, prepareUnixPath, setUnixMode, socketFile, unixListenError }] = await Promise.all([
    import("../../src/transport/unix_port.ts"),
    import("../shared/unix_path.ts"),
    preparePort(options),
  ]);
  await prepareUnixPath(path);
  let listening: Port | undefined;
  const socket = socketHandlers((_sock, socket) => {
    listening!.accept(socket, unixAddress(""), unixAddress(path), attachConnection);
  }, plainSocket);
  let listener: { stop(closeActive?: boolean): void };
  try {
    listener = (bunApi() as unknown as BunUnixApi).listen({ unix: path, allowHalfOpen: true, socket });
  } catch (error) {
    throw unixListenError(path, error);
  }
  try {
    setUnixMode(path, endpoint.mode);
  } catch (error) {
    listener.stop(true);
    throw error;
  }
  const file = socketFile(path);
  listening = new UnixPort(factory, unixAddress(path), options, () => {
    closeUnixListener(path, file, () => listener.stop(false));
  });
  return listening;
}
