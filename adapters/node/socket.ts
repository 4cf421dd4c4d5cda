/**
 * One `node:net` socket as the core's {@link Socket}, shared by the `node:net` and
 * `node:tls` adapters for accepted and connected sockets alike. Kept apart from
 * `node.ts` so that the adapters' public declarations do not need Node's types.
 *
 * @module
 */
import type net from "node:net";
import type { TLSSocket } from "node:tls";
import type { Connection } from "../../src/transport/connection.ts";
import type { Socket, TlsInfo } from "../../src/transport/socket.ts";
import { countRead } from "./read_garbage.ts";

/** A `node:net` (or `node:tls`) socket driven by a connection. */
export class NodeSocket implements Socket {
  connection!: Connection;
  /** The first error the socket reported; the connection gets it when the socket closes. */
  failure: Error | undefined = undefined;
  /** Reads left before {@link lendable} is called; 0: never. */
  readsToLend = 0;
  /** The runtime's socket; replaced once by {@link moveTo}. */
  protected sock: net.Socket;
  readonly #canReset: boolean;
  #full = false;
  #readingPaused = false;
  // Made at the first write while reading is paused: most connections never need it.
  #written: (() => void) | undefined = undefined;

  /**
   * @param sock The runtime's socket.
   * @param canReset Whether `abort()` may send a reset: only over TCP. On a Unix socket
   *   `resetAndDestroy` only makes an `ERR_SOCKET_CLOSED` error, and handling that error while
   *   out of descriptors made Deno 2.9.6 panic (docs/accept-errors.md).
   */
  constructor(sock: net.Socket, canReset = true) {
    this.sock = sock;
    this.#canReset = canReset;
  }

  write(data: Uint8Array): number {
    // node:net buffers whatever it is given; stop giving once it says it is full,
    // so that the core's queue (and its watermarks) hold the excess instead.
    if (this.#full || this.sock.destroyed) return 0;
    // While reading is paused the core waits for its buffer to fall to the low-water mark. A write
    // below the socket's own high-water mark earns no 'drain', and Deno finishes every write a
    // tick later, so without this the bytes still pending would keep reading paused for good.
    if (this.#readingPaused) {
      this.#written ??= () => {
        if (!this.#full && this.#readingPaused) this.connection.writable();
      };
      this.#full = !this.sock.write(data, this.#written);
    } else {
      this.#full = !this.sock.write(data);
    }
    return data.length;
  }

  /**
   * Called once the socket has read {@link readsToLend} times: an adapter that can read into a
   * lent buffer moves it then.
   *
   * @param _sock The runtime's socket that read.
   */
  lendable(_sock: net.Socket): void {}

  /** Detaches the socket's events from the connection (before `startTLS()` wraps the socket). */
  unwire(): void {
    const sock = this.sock as OwnedSocket;
    for (const [event, listener] of LISTENERS) sock.off(event, listener);
    sock[OWNER] = undefined;
  }

  /**
   * Serves the connection from `sock` from now on: a socket that has the same handle and delivers
   * its reads itself (`onread`), so it is wired without a 'data' listener. Only before anything
   * was read, and with nothing left unsent on the old socket, whose events are unwired.
   *
   * @param sock The socket that now holds the handle.
   */
  moveTo(sock: net.Socket): void {
    this.unwire();
    this.sock = sock;
    wire(sock, this, this.connection, false);
  }

  get pending(): number {
    return this.sock.writableLength;
  }

  tlsInfo(): TlsInfo | undefined {
    const sock = this.sock as TLSSocket;
    if (typeof sock.getPeerX509Certificate !== "function") return undefined;
    const cert = sock.getPeerX509Certificate();
    const alpnProtocol = typeof sock.alpnProtocol === "string" ? sock.alpnProtocol : null;
    if (cert === undefined) return { alpnProtocol };
    const { subject, issuer, validTo, fingerprint256 } = cert;
    return { alpnProtocol, peerCertificate: { subject, issuer, validTo, fingerprint256 } };
  }


  drained(): void {
    this.#full = false;
    this.connection.writable();
  }

  pauseReading(): void {
    this.#readingPaused = true;
    this.stopReading();
  }

  resumeReading(): void {
    this.#readingPaused = false;
    this.startReading();
  }

  /** Stops delivering data; a runtime whose `pause()` falls short overrides it. */
  protected stopReading(): void {
    this.sock.pause();
  }

  /** Starts delivering data again after {@link stopReading}. */
  protected startReading(): void {
    this.sock.resume();
  }

  shutdownWrite(): void {
    // A stream that is ending never emits 'drain' (Node's Writable), so the flush of what it
    // held is reported from end's callback: else the connection stays above its high-water
    // mark and never reads the peer's answer to our FIN.
    this.sock.end(() => {
      if (this.#full) this.drained();
    });
  }

  close(): void {
    const sock = this.sock;
    if (sock.writableFinished) sock.destroy();
    else sock.end(() => sock.destroy());
  }

  abort(): void {
    const sock = this.sock;
    try {
      // Not every runtime's node:net has resetAndDestroy (RST); destroy still frees the socket.
      if (this.#canReset && typeof sock.resetAndDestroy === "function" && !sock.destroyed) sock.resetAndDestroy();
      else sock.destroy();
    } catch {
      sock.destroy();
    }
  }
}


/** A runtime socket that knows the `NodeSocket` serving it, so that one set of listeners serves all. */
type OwnedSocket = net.Socket & { [OWNER]?: NodeSocket | undefined };

const OWNER = Symbol("twine.socket");

// Listeners shared by every socket (EventEmitter calls them with the socket as `this`): a
// connection held idle then costs no closures of its own, which on Node was 6 closures and
// their context, about 400 bytes a connection.
const LISTENERS: readonly (readonly [string, (this: OwnedSocket, arg?: never) => void])[] = [
  ["data", function (this: OwnedSocket, chunk?: Uint8Array) {
    const owner = this[OWNER]!;
    owner.connection.received(chunk!);
    countRead(chunk!.length);
    // Counted here rather than by a listener of its own: that was a closure, its context and a
    // listener array per connection, 0.5 KiB of an idle connection.
    if (owner.readsToLend !== 0 && --owner.readsToLend === 0) owner.lendable(this);
  }],
  ["end", function (this: OwnedSocket) {
    this[OWNER]!.connection.readEnded();
  }],
  ["drain", function (this: OwnedSocket) {
    this[OWNER]!.drained();
  }],
  ["error", function (this: OwnedSocket, error?: Error) {
    const owner = this[OWNER]!;
    owner.failure ??= error;
  }],
  ["close", function (this: OwnedSocket) {
    const owner = this[OWNER]!;
    owner.connection.closed(owner.failure);
  }],
];

/**
 * Routes a socket's events to its connection: the same for accepted and connected sockets.
 *
 * @param sock The runtime's socket.
 * @param socket The core's socket around it.
 * @param connection The connection to drive.
 * @param data Whether to listen for 'data': not on a socket whose `onread` delivers its reads.
 */
export function wire(sock: net.Socket, socket: NodeSocket, connection: Connection, data = true): void {
  socket.connection = connection;
  (sock as OwnedSocket)[OWNER] = socket;
  for (const [event, listener] of LISTENERS) if (data || event !== "data") sock.on(event, listener);
}

/**
 * Whether `sock` still serves `socket`: false once `unwire()` has detached it (`startTLS()`
 * hands the socket to TLS), after which what it reads is no longer the connection's.
 *
 * @param sock The runtime's socket.
 * @param socket The core's socket it was wired to.
 * @returns Whether it is wired to it.
 */
export function wiredTo(sock: net.Socket, socket: NodeSocket): boolean {
  return (sock as OwnedSocket)[OWNER] === socket;
}
