/**
 * The Deno adapter, on `Deno.listen`.
 *
 * @module
 */
import type { Dial } from "../../src/endpoints/client.ts";
import type { ClientEndpoint } from "../../src/endpoints/endpoints.ts";
import { tcpAddress, unixAddress } from "../../src/transport/address.ts";
import type { Factory } from "../../src/transport/factory.ts";
import { listenError, resolveListenOptions } from "../../src/transport/listen_options.ts";
import { type ListeningPort, type ListenOptions, Port, preparePort } from "../../src/transport/port.ts";
import type { Socket } from "../../src/transport/socket.ts";
import type { StartTlsOptions } from "../../src/transport/start_tls.ts";
import { acceptLoop, addressOf, type DenoConn, type DenoConnectApi, type DenoListener, DenoSocket, denoApi } from "./socket.ts";

/** The adapter's name, as printed on start. */
export const name = "deno";

/** A plaintext socket: the one kind that `startTLS()` can upgrade. */
export class PlainDenoSocket extends DenoSocket {
  startTls(options: StartTlsOptions): Promise<Socket> {
    return import("./start_tls.ts").then((m) => m.upgradeDenoSocket(this, options));
  }
}

/** Builds a {@link PlainDenoSocket}, for the accept loop. */
export const plainSocket = (conn: DenoConn): DenoSocket => new PlainDenoSocket(conn);

/**
 * Listens with `Deno.listen`. Needs `--allow-net`.
 *
 * @param factory Builds a protocol per connection.
 * @param options Address, watermarks and error reporting.
 * @returns The listening port, once bound.
 * @throws {RangeError} For a port out of range.
 * @throws {ListenError} If the address cannot be bound or network access is denied.
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
  let listener: DenoListener;
  try {
    // reusePort needs --unstable-net (Deno 2.9); without it Deno throws a one-line error saying so.
    listener = denoApi().listen({ hostname: host, port, transport: "tcp", ...(options.reusePort ? { reusePort: true } : {}) });
  } catch (error) {
    return Promise.reject(listenError(host, port, error));
  }
  const bound = addressOf(listener.addr);
  const listening = new Port(factory, tcpAddress(bound.hostname, bound.port), options, () => listener.close());
  void acceptLoop(listener, listening, plainSocket);
  return Promise.resolve(listening);
}

/**
 * Opens one client connection with `Deno.connect`; the core's `Connector` calls it.
 * Needs `--allow-net`, or `--allow-read --allow-write` for a Unix socket.
 *
 * @param endpoint Where to connect.
 * @param open Builds the connection once the socket is open.
 * @returns Settles once connected, or rejects with the runtime's error.
 */
export const dial: Dial = async (endpoint: ClientEndpoint, open) => {
  if (endpoint.type === "tls") return (await import("./tls.ts")).dialTls(endpoint, open);
  const api = denoApi() as unknown as DenoConnectApi;
  const unix = endpoint.type === "unix";
  const conn = unix
    ? await api.connect({ path: endpoint.path, transport: "unix" })
    : await api.connect({ hostname: endpoint.host, port: endpoint.port, transport: "tcp" });
  if (!unix) conn.setNoDelay(true);
  const socket = new PlainDenoSocket(conn);
  socket.awaitWrites = false;
  const peer = addressOf(conn.remoteAddr);
  const local = addressOf(conn.localAddr);
  const peerAddress = unix ? unixAddress(endpoint.path) : tcpAddress(peer.hostname, peer.port);
  const localAddress = unix ? unixAddress("") : tcpAddress(local.hostname, local.port);
  open(socket, peerAddress, localAddress, (c) => {
    socket.connection = c;
  });
  void socket.readLoop();
};
