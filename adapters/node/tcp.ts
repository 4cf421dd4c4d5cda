/**
 * The `node:net` adapter. Native on Node; Bun and Deno run it through their
 * Node compatibility layers, so the benchmark can compare those too.
 *
 * @module
 */
import net from "node:net";
import type { Dial } from "../../src/endpoints/client.ts";
import type { ClientEndpoint, UnixServerEndpoint } from "../../src/endpoints/endpoints.ts";
import { formatAddress, tcpAddress, unixAddress } from "../../src/transport/address.ts";
import type { Factory } from "../../src/transport/factory.ts";
import { ListenError, listenError, resolveListenOptions } from "../../src/transport/listen_options.ts";
import { type ListeningPort, type ListenOptions, Port, preparePort } from "../../src/transport/port.ts";
import type { Socket } from "../../src/transport/socket.ts";
import type { StartTlsOptions } from "../../src/transport/start_tls.ts";
import { canLendReads, lendReads, lendReadsLater } from "./lent_reads.ts";
import { keepAccepting } from "./rearm.ts";
import { NodeSocket, wire } from "./socket.ts";
import { inClusterWorker, reusePortUnsupported } from "./reuse_port.ts";
import { detectRuntime } from "../runtime.ts";

/** The adapter's name, as printed on start. */
export const name = "node:net";

/** A plaintext socket: the one kind that `startTLS()` can upgrade. */
class PlainNodeSocket extends NodeSocket {
  async startTls(options: StartTlsOptions): Promise<Socket> {
    // Loaded when first used: it needs node:tls, and it builds NodeSockets itself.
    const { upgradeNodeSocket } = await import("./start_tls.ts");
    return upgradeNodeSocket(this.sock, this, options);
  }

  override lendable(sock: net.Socket): void {
    lendReads(sock, this);
  }
}

/**
 * Listens with `node:net`. In a `node:cluster` worker on Node it listens through the primary,
 * which shares one socket among the workers.
 *
 * @param factory Builds a protocol per connection.
 * @param options Address, watermarks and error reporting.
 * @returns The listening port, once bound.
 * @throws {RangeError} For a port out of range.
 * @throws {ListenError} If the address cannot be bound, or (code `ENOTSUP`) `reusePort` is asked of a Node older than 22.12.
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
  // Older Node ignores reusePort, and the second process would fail with a misleading "address already in use".
  const noReusePort = options.reusePort === true ? reusePortUnsupported(detectRuntime()) : undefined;
  if (noReusePort !== undefined) throw new ListenError(`Cannot listen on ${formatAddress({ host, port })}: ${noReusePort}`, "ENOTSUP");
  const server = net.createServer({ allowHalfOpen: true });
  const reusePort = options.reusePort === true;
  // In a node:cluster worker a shared listen goes to the primary, which holds one socket for all workers.
  const exclusive = !reusePort && !(await inClusterWorker());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, exclusive, reusePort }, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    throw listenError(host, port, error);
  }
  const bound = server.address() as net.AddressInfo;
  const address = tcpAddress(bound.address, bound.port);
  const wildcard = host === "0.0.0.0" || host === "::" || host === "localhost";
  let stopRearming: () => void;
  try {
    stopRearming = keepAccepting(server, (error) => listening.listenerLost(error));
  } catch (error) {
    server.close();
    throw listenError(address.host, address.port, error);
  }
  const listening = new Port(factory, address, options, () => {
    stopRearming();
    server.close();
  });
  // After listening, a server's errors are failed accepts: counted, and logged at most once a second.
  server.on("error", (error) => listening.acceptFailed(error));
  server.on("connection", (sock) => {
    sock.setNoDelay(true);
    const socket = new PlainNodeSocket(sock);
    const peer = tcpAddress(sock.remoteAddress ?? "", sock.remotePort ?? 0);
    // Bound to one address, every connection's local end is that address: no getsockname needed.
    const local = wildcard ? tcpAddress(sock.localAddress ?? address.host, sock.localPort ?? address.port) : address;
    const connection = listening.accept(socket, peer, local, (connection) => wire(sock, socket, connection));
    if (canLendReads) lendReadsLater(socket, connection);
  });
  return listening;
}

/**
 * Opens one client connection with `node:net`; the core's `Connector` calls it.
 *
 * @param endpoint Where to connect.
 * @param open Builds the connection once the socket is open.
 * @returns Settles once connected, or rejects with the runtime's error.
 */
export const dial: Dial = (endpoint: ClientEndpoint, open) => {
  if (endpoint.type === "tls") return import("./tls.ts").then((m) => m.dialTls(endpoint, open));
  const unix = endpoint.type === "unix";
  return new Promise<void>((resolve, reject) => {
    const sock = unix
      ? net.connect({ path: endpoint.path, allowHalfOpen: true })
      : net.connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true, noDelay: true });
    sock.once("error", reject);
    sock.once("connect", () => {
      sock.off("error", reject);
      const socket = new PlainNodeSocket(sock, !unix);
      const peer = unix ? unixAddress(endpoint.path) : tcpAddress(sock.remoteAddress ?? endpoint.host, sock.remotePort ?? endpoint.port);
      const local = unix ? unixAddress("") : tcpAddress(sock.localAddress ?? "", sock.localPort ?? 0);
      open(socket, peer, local, (connection) => wire(sock, socket, connection));
      resolve();
    });
  });
};

/**
 * Listens on a Unix domain socket with `node:net`.
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
  const [{ UnixPort }, { closeUnixListener, prepareUnixPath, removeUnixPath, setUnixMode, socketFile, unixListenError }] = await Promise.all([
    import("../../src/transport/unix_port.ts"),
    import("../shared/unix_path.ts"),
    preparePort(options),
  ]);
  await prepareUnixPath(path);
  const server = net.createServer({ allowHalfOpen: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ path, exclusive: true }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    setUnixMode(path, endpoint.mode);
  } catch (error) {
    server.close();
    throw unixListenError(path, error);
  }
  let stopRearming: () => void;
  try {
    stopRearming = keepAccepting(server, (error) => listening.listenerLost(error));
  } catch (error) {
    server.close();
    removeUnixPath(path);
    throw unixListenError(path, error);
  }
  const file = socketFile(path);
  const listening = new UnixPort(factory, unixAddress(path), options, () => {
    stopRearming();
    closeUnixListener(path, file, () => server.close());
  });
  // After listening, a server's errors are failed accepts: counted, and logged at most once a second.
  server.on("error", (error) => listening.acceptFailed(error));
  server.on("connection", (sock) => {
    const socket = new PlainNodeSocket(sock, false);
    listening.accept(socket, unixAddress(""), listening.address, (connection) => wire(sock, socket, connection));
  });
  return listening;
}
