import { type Address, tcpAddress } from "./address.ts";
import { Connection, type ConnectionOptions } from "./connection.ts";
import type { Socket } from "./socket.ts";
import type { StartTlsOptions } from "./start_tls.ts";

/** Options of {@link MemoryTransport}. */
export interface MemoryTransportOptions extends ConnectionOptions {
  /**
   * The peer's address.
   * @default 192.0.2.1:54321
   */
  peer?: Address;
  /**
   * This end's address.
   * @default 127.0.0.1:8000
   */
  host?: Address;
  /**
   * How many bytes the fake socket takes before it is full and waits for `drain()`,
   * to exercise partial writes.
   * @default Infinity
   */
  writeLimit?: number;
}

class MemorySocket implements Socket {
  connection: Connection | undefined;
  readonly chunks: Uint8Array[] = [];
  reading = true;
  writeShut = false;
  closed = false;
  aborted = false;
  tlsOptions: StartTlsOptions | undefined;
  plaintextLength = 0;
  readonly limit: number;
  room: number;

  constructor(limit: number) {
    this.limit = limit;
    this.room = limit;
  }

  write(data: Uint8Array): number {
    if (this.closed || this.writeShut) return 0;
    const taken = Math.min(this.room, data.length);
    this.room -= taken;
    if (taken > 0) this.chunks.push(data.slice(0, taken));
    return taken;
  }

  get pending(): number {
    return 0;
  }

  pauseReading(): void {
    this.reading = false;
  }

  resumeReading(): void {
    this.reading = true;
  }

  shutdownWrite(): void {
    this.writeShut = true;
  }

  close(): void {
    this.writeShut = true;
    this.closed = true;
    this.connection?.closed();
  }

  abort(): void {
    this.closed = true;
    this.aborted = true;
    this.connection?.closed();
  }

  startTls(options: StartTlsOptions): Promise<Socket> {
    // No handshake in memory: the same socket carries on as the "TLS" one, reading again.
    this.tlsOptions = options;
    this.plaintextLength = this.chunks.reduce((n, c) => n + c.length, 0);
    this.reading = true;
    return Promise.resolve(this);
  }
}

/**
 * A transport with no socket behind it, for testing protocols, like Twisted's
 * `proto_helpers.StringTransport`. It is a real {@link Connection}, so queueing,
 * backpressure and half-close behave as on a network; the methods below play the peer.
 *
 * @example
 * ```ts
 * import { MemoryTransport } from "./memory_transport.ts";
 * import { EchoProtocol } from "../wire/echo.ts";
 * const transport = new MemoryTransport();
 * transport.connect(new EchoProtocol());
 * transport.receive("hello");
 * transport.text(); // "hello"
 * ```
 */
export class MemoryTransport extends Connection {
  readonly #fake: MemorySocket;

  /** @param options Addresses, watermarks, and a write limit to force partial writes. */
  constructor(options: MemoryTransportOptions = {}) {
    const fake = new MemorySocket(options.writeLimit ?? Infinity);
    super(fake, options.peer ?? tcpAddress("192.0.2.1", 54321), options.host ?? tcpAddress("127.0.0.1", 8000), options);
    fake.connection = this;
    this.#fake = fake;
  }

  /**
   * The peer sends `data`. A protocol whose `keepsData` is false is lent a copy,
   * which is overwritten (every byte inverted) once `dataReceived` returns, as an
   * adapter reading into the same buffer again would: a protocol that keeps it
   * anyway sees its bytes change.
   *
   * @param data Bytes, or a string sent as UTF-8.
   */
  receive(data: Uint8Array | string): void {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    if (this.keepsData) {
      this.received(bytes);
      return;
    }
    const lent = bytes.slice();
    this.received(lent, true);
    for (let i = 0; i < lent.length; i++) lent[i] = ~lent[i]!;
  }

  /** The peer shuts down its writing side (sends FIN). */
  receiveEnd(): void {
    this.readEnded();
  }

  /**
   * The peer resets the connection.
   *
   * @param error The error the runtime would report.
   * @default Error("read ECONNRESET") with code "ECONNRESET"
   */
  reset(error: unknown = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })): void {
    this.#fake.closed = true;
    this.closed(error);
  }

  /** The peer reads: the fake socket takes up to `writeLimit` more bytes. */
  drain(): void {
    this.#fake.room = this.#fake.limit;
    this.writable();
  }

  /** @returns Every byte the fake socket has taken, in order. */
  value(): Uint8Array {
    const total = this.#fake.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of this.#fake.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }

  /** @returns What the socket has taken, decoded as UTF-8. */
  text(): string {
    return new TextDecoder().decode(this.value());
  }

  /** Forgets what the socket has taken so far. */
  clear(): void {
    this.#fake.chunks.length = 0;
  }

  /** Whether FIN has been sent to the peer. */
  get writeShut(): boolean {
    return this.#fake.writeShut;
  }

  /**
   * What `startTLS()` was called with, once its (pretend) handshake began: in memory the
   * upgrade succeeds at once, with no encryption and no `getTlsInfo()`.
   */
  get tlsStarted(): StartTlsOptions | undefined {
    return this.#fake.tlsOptions;
  }

  /** How many bytes of `value()` were taken in plaintext, before `startTLS()` switched. */
  get plaintextLength(): number {
    return this.#fake.tlsOptions === undefined ? this.value().length : this.#fake.plaintextLength;
  }

  /** Whether the socket was aborted (reset) rather than closed. */
  get aborted(): boolean {
    return this.#fake.aborted;
  }
}
