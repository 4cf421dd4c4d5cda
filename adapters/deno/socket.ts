/**
 * What the Deno adapter's TCP, Unix, TLS and STARTTLS modules share: the slice of Deno's API
 * they use, the core's socket over a `Deno.Conn` and the accept loop.
 *
 * @module
 */
import { tcpAddress } from "../../src/transport/address.ts";
import type { Connection } from "../../src/transport/connection.ts";
import type { Port } from "../../src/transport/port.ts";
import type { Socket } from "../../src/transport/socket.ts";

/** The slice of `Deno.Conn` this adapter uses. */
export interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
  readonly localAddr: { hostname: string; port: number } | { transport: string };
  readonly remoteAddr: { hostname: string; port: number } | { transport: string };
}

/** The slice of `Deno.Listener` this adapter uses. */
export interface DenoListener {
  accept(): Promise<DenoConn>;
  close(): void;
  readonly addr: { hostname: string; port: number } | { transport: string };
}

/** The slice of the `Deno` global this adapter uses. */
export interface DenoApi {
  listen(options: { hostname: string; port: number; transport: "tcp"; reusePort?: boolean }): DenoListener;
  permissions: { querySync(desc: { name: "net"; host?: string }): { state: string } };
}

// A waiting read pins its buffer, so idle connections start small; a read that fills it doubles it.
const MIN_READ = 4 * 1024;
const MAX_READ = 64 * 1024;

// Small chunks are copied into a shared slab and handed out as views, as Node's Buffer
// pool does: one allocation per slab instead of one ArrayBuffer (malloc, free and V8's
// external-memory bookkeeping) per message. A view keeps its slab alive, so a protocol
// that keeps a small chunk keeps at most one slab.
const SLAB_SIZE = 64 * 1024;

// conn.write() reaches the kernel when it is called (Deno polls an async op once right away), but
// its count arrives a promise later, after the synchronous run that called it. Until a write comes
// back short, this much in flight or queued behind it counts as taken: on loopback the kernel takes
// about 4 MB at once even for a peer that does not read, so this errs on the strict side.
const PRESUMED_TAKEN = 128 * 1024;

let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

function copyOut(bytes: Uint8Array): Uint8Array {
  if (slabUsed + bytes.length > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const view = slab.subarray(slabUsed, slabUsed + bytes.length);
  view.set(bytes);
  slabUsed += bytes.length;
  return view;
}

export class DenoSocket implements Socket {
  connection!: Connection;
  /**
   * Whether a read waits for the write it started. Off for clients: one that sends more than
   * the socket buffers hold while the peer echoes would wait forever for its own write.
   */
  awaitWrites = true;
  readonly #conn: DenoConn;
  #buffer = new Uint8Array(MIN_READ);
  #reading = true;
  #resume: (() => void) | undefined;
  #inFlight = 0;
  // A write came back short: the kernel refuses, so everything unsent counts until the socket drains.
  #short = false;
  // Set by the first write outside the read loop's callback: a promise made per connection otherwise.
  #written: Promise<void> | undefined;
  #delivering = false;
  #handedOff: Uint8Array | undefined;
  #shutdownAfterWrite = false;
  #closeAfterWrite = false;
  #done = false;
  #readPending = false;
  #onIdle: (() => void) | undefined;

  constructor(conn: DenoConn) {
    this.#conn = conn;
  }

  write(data: Uint8Array): number {
    // One write at a time: while one is in flight the core queues and coalesces the rest.
    if (this.#inFlight > 0 || this.#done) return 0;
    this.#inFlight = data.length;
    // Written from inside the read loop's callback: the loop writes it itself once the
    // callback returns, as a hand-written echo does, which saves a promise per message.
    if (this.#delivering) this.#handedOff = data;
    else this.#written = this.#writeAll(data);
    return data.length;
  }

  get pending(): number {
    return this.#inFlight;
  }

  /** 128 KiB until a write comes back short, then 0 until the socket drains: see `Socket.presumedTaken`. */
  get presumedTaken(): number {
    return this.#short ? 0 : PRESUMED_TAKEN;
  }

  pauseReading(): void {
    this.#reading = false;
  }

  resumeReading(): void {
    this.#reading = true;
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
  }

  shutdownWrite(): void {
    if (this.#inFlight > 0) this.#shutdownAfterWrite = true;
    else this.#conn.closeWrite().catch(() => {});
  }

  close(): void {
    if (this.#inFlight > 0) this.#closeAfterWrite = true;
    else this.#finish(undefined);
  }

  abort(): void {
    // Deno has no SO_LINGER; closing with unread input still makes the kernel send RST.
    this.#finish(undefined);
  }


  /**
   * Hands the connection over for `startTLS()` once the write in flight is done, and ends the
   * read loop. Refused while a read waits: what it returns may be the peer's first TLS bytes,
   * and `Deno.startTls` cannot be given them.
   *
   * @returns The plaintext connection, no longer used by this socket.
   */
  detach(): Promise<DenoConn> {
    if (this.#done) return Promise.reject(new Error("the connection is closed"));
    if (this.#readPending) {
      return Promise.reject(new Error("a read is in progress; on deno native call startTLS from dataReceived or connectionMade"));
    }
    return new Promise((resolve) => {
      const handOver = () => {
        this.#done = true;
        this.#resume?.();
        resolve(this.#conn);
      };
      if (this.#inFlight > 0) this.#onIdle = handOver;
      else handOver();
    });
  }

  /** Reads with `conn.read()`: reading `conn.readable` to its end would close the whole connection (denoland/deno #22258). */
  async readLoop(): Promise<void> {
    try {
      while (!this.#done) {
        if (!this.#reading) {
          await new Promise<void>((resolve) => (this.#resume = resolve));
          continue;
        }
        this.#readPending = true;
        const n = await this.#conn.read(this.#buffer);
        this.#readPending = false;
        if (this.#done) return;
        if (n === null) {
          this.connection.readEnded();
          return;
        }
        const size = this.#buffer.length;
        // Lending waits for the write of the lent bytes, which a client must not (see awaitWrites).
        const lend = this.awaitWrites && !this.connection.keepsData;
        let chunk: Uint8Array;
        if (lend) {
          // The protocol keeps nothing and the core copies what it queues, so the one buffer
          // is read into again once this connection's own write of it is done.
          chunk = this.#buffer.subarray(0, n);
        } else if (n > size / 2) {
          // A big read keeps its buffer; copying small ones lets one buffer serve many reads.
          chunk = this.#buffer.subarray(0, n);
          this.#buffer = new Uint8Array(n === size ? Math.min(size * 2, MAX_READ) : size);
        } else {
          chunk = copyOut(this.#buffer.subarray(0, n));
        }
        this.#delivering = this.awaitWrites;
        this.connection.received(chunk, lend);
        this.#delivering = false;
        const out = this.#handedOff;
        if (out !== undefined) {
          this.#handedOff = undefined;
          let offset = 0;
          while (offset < out.length && !this.#done) {
            offset += await this.#conn.write(offset === 0 ? out : out.subarray(offset));
            this.#inFlight = out.length - offset;
            if (this.#inFlight > 0) this.#short = true;
          }
          this.#afterWrite();
        } else if (this.#inFlight > 0 && this.awaitWrites) {
          // As a hand-written Deno echo does: let the write started for this chunk finish before reading more.
          await this.#written;
        }
        if (lend && n === size && size < MAX_READ) this.#buffer = new Uint8Array(size * 2);
      }
    } catch (error) {
      this.#finish(error);
    }
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    try {
      let offset = 0;
      while (offset < data.length) {
        offset += await this.#conn.write(offset === 0 ? data : data.subarray(offset));
        this.#inFlight = data.length - offset;
        if (this.#inFlight > 0) this.#short = true;
      }
    } catch (error) {
      this.#inFlight = 0;
      this.#finish(error);
      return;
    }
    this.#afterWrite();
  }

  #afterWrite(): void {
    this.#inFlight = 0;
    this.#short = false;
    const handOver = this.#onIdle;
    this.#onIdle = undefined;
    handOver?.();
    if (this.#done) return;
    if (this.#closeAfterWrite) return this.#finish(undefined);
    if (this.#shutdownAfterWrite) {
      this.#shutdownAfterWrite = false;
      this.#conn.closeWrite().catch(() => {});
    }
    this.connection.writable();
  }

  #finish(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#inFlight = 0;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime after an error.
    }
    this.#resume?.();
    this.connection.closed(error);
  }
}

/** The `Deno` global, or a one-line error off Deno. */
export function denoApi(): DenoApi {
  const api = (globalThis as { Deno?: DenoApi }).Deno;
  if (api === undefined) throw new TypeError("Cannot use the deno adapter: not running on Deno");
  return api;
}

/** A connection's address as host and port; a Unix one has neither. */
export function addressOf(addr: DenoConn["remoteAddr"]): { hostname: string; port: number } {
  return "hostname" in addr ? addr : { hostname: "", port: 0 };
}

/**
 * Accepts connections until the port closes, each served by a socket that `make` builds.
 *
 * @param listener The runtime's listener.
 * @param port The core's port, which builds each connection.
 * @param make Builds the core's socket for an accepted connection.
 * @param noDelay Whether to turn Nagle off: false for TLS and Unix connections, which have no `setNoDelay`.
 * @param watch Called with each accepted connection before it is served: TLS bounds its handshake there,
 * rather than in a listener that wraps `accept()` in one more promise per connection.
 */
export async function acceptLoop(
  listener: DenoListener,
  port: Port,
  make: (conn: DenoConn) => DenoSocket = (conn) => new DenoSocket(conn),
  noDelay = true,
  watch?: (conn: DenoConn) => void,
): Promise<void> {
  for (;;) {
    let conn: DenoConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (port.closing) return;
      // A peer gone before accept (os error 107) says nothing about the listener: no pause.
      // Out of descriptors, pause briefly; the port logs at most a line a second.
      const pause = port.acceptFailed(error);
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
      continue;
    }
    watch?.(conn);
    if (noDelay) conn.setNoDelay(true);
    const socket = make(conn);
    const peer = addressOf(conn.remoteAddr);
    const local = addressOf(conn.localAddr);
    port.accept(socket, tcpAddress(peer.hostname, peer.port), tcpAddress(local.hostname, local.port), (c) => {
      socket.connection = c;
    });
    void socket.readLoop();
  }
}

/** The slice of `Deno.connect` and `Deno.listen` for clients and Unix sockets that this adapter uses. */
export interface DenoConnectApi {
  connect(options: { hostname: string; port: number; transport: "tcp" }): Promise<DenoConn>;
  connect(options: { path: string; transport: "unix" }): Promise<DenoConn>;
  listen(options: { path: string; transport: "unix" }): DenoListener;
}
