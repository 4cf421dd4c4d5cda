/**
 * What the Bun adapter's TCP, TLS and STARTTLS modules share: the slice of Bun's API they use,
 * the core's socket over a Bun socket, and the handlers that route its events to a connection.
 *
 * @module
 */
import { type Address, tcpAddress } from "../../src/transport/address.ts";
import type { Connection } from "../../src/transport/connection.ts";
import type { Socket } from "../../src/transport/socket.ts";

/** The slice of Bun's `Socket` this adapter uses. */
export interface BunSocket {
  data: BunTCPSocket;
  write(data: Uint8Array): number;
  shutdown(halfClose?: boolean): void;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay?: boolean): boolean;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

export interface BunHandlers {
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  error(socket: BunSocket, error: Error): void;
  close(socket: BunSocket, error?: Error): void;
  connectError(socket: BunSocket, error: Error): void;
}

export interface BunListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

/** The slice of the `Bun` global this adapter uses. */
export interface BunApi {
  listen(options: {
    hostname: string;
    port: number;
    exclusive: boolean;
    reusePort: boolean;
    allowHalfOpen: boolean;
    socket: BunHandlers;
  }): BunListener;
  connect(
    options: ({ hostname: string; port: number } | { unix: string }) & { allowHalfOpen: boolean; socket: BunHandlers },
  ): Promise<BunSocket>;
}

export class BunTCPSocket implements Socket {
  connection!: Connection;
  // Declared, not defined: set only by an error, and memory on every idle connection otherwise.
  declare failure: Error | undefined;
  /** The runtime's socket. */
  protected readonly sock: BunSocket;

  constructor(sock: BunSocket) {
    this.sock = sock;
  }

  write(data: Uint8Array): number {
    // Bun writes straight to the kernel and keeps nothing: what it did not take
    // stays in the core's queue until the drain handler fires (oven-sh/bun #9682).
    return this.sock.write(data);
  }

  get pending(): number {
    return 0;
  }

  pauseReading(): void {
    this.sock.pause();
  }

  resumeReading(): void {
    this.sock.resume();
  }

  shutdownWrite(): void {
    this.sock.shutdown();
  }

  close(): void {
    this.sock.end();
  }

  abort(): void {
    this.sock.terminate();
  }

}

/**
 * The per-socket handlers, the same for accepted and connected sockets: `start`
 * builds the socket's connection when it opens.
 */
export function socketHandlers(
  start: (sock: BunSocket, socket: BunTCPSocket) => void,
  make: (sock: BunSocket) => BunTCPSocket = (sock) => new BunTCPSocket(sock),
): BunHandlers {
  return {
    binaryType: "uint8array",
    open(sock) {
      sock.setNoDelay(true);
      const socket = make(sock);
      sock.data = socket;
      start(sock, socket);
    },
    data(sock, data) {
      sock.data.connection.received(data);
    },
    drain(sock) {
      sock.data.connection.writable();
    },
    end(sock) {
      sock.data.connection.readEnded();
    },
    error(sock, error) {
      sock.data.failure ??= error;
    },
    close(sock, error) {
      // A socket that never opened has no connection; its failure rejects Bun.connect instead.
      const socket = sock.data as BunTCPSocket | undefined;
      socket?.connection?.closed(error ?? socket.failure);
    },
    // Present so that Bun does not also report the rejected Bun.connect as unhandled.
    connectError() {},
  };
}

/**
 * The `attach` of `Port.accept` for every Bun socket: routes its events to its connection. One
 * function for all of them, rather than a closure per connection.
 *
 * @param connection The connection the port built.
 * @param socket The socket it runs on: a {@link BunTCPSocket}.
 */
export function attachConnection(connection: Connection, socket: Socket): void {
  (socket as BunTCPSocket).connection = connection;
}

/**
 * This end's address of each socket a listener accepts: the same object as long as it is the same
 * address, rather than one per connection. Once a socket's address turns out to be the one the
 * listener is bound to, it is not bound to every interface, and every socket's is that one: it is
 * no longer read, for Bun keeps a string on the socket once it is.
 *
 * @param bound The listener's address, once it listens.
 * @returns The function that gives a socket's local address.
 */
export function localAddresses(bound: () => Address): (sock: BunSocket) => Address {
  let last: Address | undefined;
  let fixed = false;
  return (sock) => {
    if (fixed) return last!;
    const host = sock.localAddress;
    const port = sock.localPort;
    if (last === undefined || last.host !== host || last.port !== port) last = tcpAddress(host, port);
    fixed = bound().host === host && bound().port === port;
    return last;
  };
}

/** The `Bun` global, or a one-line error off Bun. */
export function bunApi(): BunApi {
  const api = (globalThis as { Bun?: BunApi }).Bun;
  if (api === undefined) throw new TypeError("Cannot use the bun adapter: not running on Bun");
  return api;
}
