import { type Address, formatAddress } from "./address.ts";
import { ConnectionAborted, connectionDone, ConnectionLost, IdleTimeout, ProtocolError, type Reason } from "./errors.ts";
import type { Protocol } from "./protocol.ts";
import type { Socket, TlsInfo } from "./socket.ts";
import { handshakeProblem } from "../endpoints/connect_error.ts";
import { checkTlsPolicy, type TlsPolicy, withTlsPolicy } from "../endpoints/tls_policy.ts";
import { StartTlsError, type StartTlsOptions } from "./start_tls.ts";
import type { Producer, Transport } from "./transport.ts";

/** Options shared by every connection of a listening port. */
export interface ConnectionOptions {
  /**
   * Queued output, in bytes, above which the connection stops reading from the peer.
   * @default 131072
   */
  highWaterMark?: number;
  /**
   * Queued output, in bytes, at or below which reading resumes.
   * @default 32768
   */
  lowWaterMark?: number;
  /**
   * After `loseConnection()` has sent everything and our FIN, how long to wait in all
   * for the peer's FIN before closing anyway, in milliseconds: nginx's `lingering_time`.
   * @default 10000
   */
  lingerTimeout?: number;
  /**
   * While waiting for the peer's FIN after ours, how long to wait for its next bytes,
   * in milliseconds, counted again from each read: nginx's `lingering_timeout`. A peer
   * silent for that long is closed on before `lingerTimeout`. 0 closes right after our FIN,
   * as `lingerTimeout` 0 does; to wait the whole `lingerTimeout`, set it as high.
   * @default 5000
   */
  lingerIdleTimeout?: number;
  /**
   * After `loseConnection()`, how many bytes from the peer to read and discard while
   * waiting for its FIN. Past it the connection closes at once (the kernel answers the
   * peer's unread bytes with RST), or is aborted if output is still unsent; so a peer that
   * ignores our FIN cannot make the server read for the whole `lingerTimeout`.
   * @default 1048576
   */
  lingerBytes?: number;
  /**
   * Milliseconds without traffic in either direction after which the connection is closed
   * with `loseConnection()`, as Twisted's `TimeoutMixin`: what is queued is sent, then FIN,
   * and `connectionLost` gets an {@link IdleTimeout}. If that output then does not move for
   * as long again (the peer does not read), or `startTLS()` is switching, the connection is
   * aborted instead. 0 turns it off.
   * @default 0
   */
  idleTimeout?: number;
  /**
   * The TLS versions and suites to allow: on a listener's `ssl:` endpoints, a client's `tls:`
   * endpoints and `startTLS()`, wherever they do not say otherwise themselves.
   * @default Mozilla's intermediate configuration: TLS 1.3, and TLS 1.2 with ECDHE and AEAD suites
   */
  tls?: TlsPolicy;
  /**
   * Called when a protocol callback throws; the connection is then aborted.
   * @default logs one line with the peer's address to `console.error`
   */
  onError?: (error: unknown, peer: Address) => void;
}

/** Bytes a port's connections read and handed to their sockets, summed: one object shared by all of them. */
export interface TrafficCounts {
  /** Bytes read from peers. */
  bytesRead: number;
  /** Bytes handed to the sockets for sending. */
  bytesWritten: number;
}

type State = "open" | "disconnecting" | "closed";

// "draining" while what was written before startTLS() goes out in plaintext,
// "switching" while the adapter upgrades the socket.
type TlsState = "plain" | "draining" | "switching" | "tls";

/** Default queued bytes above which a connection stops reading. */
export const DEFAULT_HIGH_WATER_MARK = 128 * 1024;
/** Default queued bytes at or below which reading resumes. */
export const DEFAULT_LOW_WATER_MARK = 32 * 1024;

const encoder = new TextEncoder();

// The buffer behind the chunk being lent to a protocol that does not keep data, and the
// connection it was read on; set only while that protocol's dataReceived runs.
let lentBuffer: ArrayBufferLike | undefined;
let lender: Connection | undefined;

// Most connections close with neither timer set; Deno's clearTimeout is Node's, a call into its timers module even for undefined.
function clearTimer(timer: ReturnType<typeof setTimeout> | undefined): void {
  if (timer !== undefined) clearTimeout(timer);
}

function defaultOnError(error: unknown, peer: Address): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`Protocol error on connection from ${formatAddress(peer)}: ${message}`);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

// Bits of a connection's #flags.
const SOCKET_FULL = 1;
const READING = 2;
const USER_PAUSED = 4;
const WRITE_PAUSED = 8;
const READ_EOF = 16;
const WRITE_SHUT = 32;
const CLOSE_REQUESTED = 64;
const WRITE_SHUT_REQUESTED = 128;
const HOLDING = 256;

/** What a connection closing from this end keeps while it waits for the peer's FIN. */
interface Linger {
  loseReason: Reason | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  until: number;
  // Bytes read and discarded since loseConnection(), and when the last of them came (or our FIN went, if later).
  discarded: number;
  lastDiscard: number;
}

/** What a connection with an idle timeout keeps. */
interface Idle {
  timer: ReturnType<typeof setTimeout> | undefined;
  lastActivity: number;
}

/** What startTLS() keeps. */
interface TlsStart {
  // While TLS starts (#holding), writes wait here: they must not reach the plaintext socket.
  held: Uint8Array[] | undefined;
  heldBytes: number;
  options: StartTlsOptions | undefined;
  settle: ((error?: StartTlsError) => void) | undefined;
}

// #state and #tlsState, as two bits each of #flags from these shifts.
const STATES: readonly State[] = ["open", "disconnecting", "closed"];
const STATE_SHIFT = 9;
// The same two bits tested directly, on the paths every chunk takes: "open" is 0, and as the state
// is never 3, the CLOSED bit alone says "closed".
const STATE_BITS = 3 << STATE_SHIFT;
const DISCONNECTING = 1 << STATE_SHIFT;
const CLOSED = 2 << STATE_SHIFT;
const TLS_STATES: readonly TlsState[] = ["plain", "draining", "switching", "tls"];
const TLS_STATE_SHIFT = 11;
// What write() drops its bytes for, besides an abort: one test per write rather than three getters.
const NOT_WRITING = CLOSED | WRITE_SHUT | WRITE_SHUT_REQUESTED;

/** A connection's settings, as its options resolve them, and the options they were resolved from. */
interface Settings {
  readonly high: number;
  readonly low: number;
  readonly linger: number;
  readonly lingerIdle: number;
  readonly lingerBytes: number;
  readonly onError: (error: unknown, peer: Address) => void;
  readonly idleTimeout: number;
  readonly tls: TlsPolicy | undefined;
  readonly from: ConnectionOptions;
}

// A port gives all its connections the same options object: they share one Settings rather than
// each carrying eight fields of its own, which is memory on every idle connection.
const resolved = new WeakMap<ConnectionOptions, Settings>();

function unchanged(from: ConnectionOptions, o: ConnectionOptions): boolean {
  return from.highWaterMark === o.highWaterMark && from.lowWaterMark === o.lowWaterMark && from.lingerTimeout === o.lingerTimeout &&
    from.lingerIdleTimeout === o.lingerIdleTimeout && from.lingerBytes === o.lingerBytes && from.onError === o.onError &&
    from.idleTimeout === o.idleTimeout && from.tls === o.tls;
}

function settingsOf(options: ConnectionOptions): Settings {
  const known = resolved.get(options);
  // Options changed since they were resolved are resolved again, as they were for every connection before.
  if (known !== undefined && unchanged(known.from, options)) return known;
  const high = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  const low = options.lowWaterMark ?? Math.min(DEFAULT_LOW_WATER_MARK, high);
  if (!(low >= 0 && high >= low)) {
    throw new RangeError(`Cannot use water marks low=${low} high=${high}: need 0 <= low <= high`);
  }
  const settings: Settings = {
    high,
    low,
    linger: options.lingerTimeout ?? 10_000,
    lingerIdle: options.lingerIdleTimeout ?? 5_000,
    lingerBytes: options.lingerBytes ?? 1024 * 1024,
    onError: options.onError ?? defaultOnError,
    idleTimeout: options.idleTimeout ?? 0,
    tls: options.tls,
    from: { ...options },
  };
  resolved.set(options, settings);
  return settings;
}

/**
 * One TCP connection: the {@link Transport} a protocol writes to, driven by an
 * adapter's {@link Socket}. Every adapter shares this code, so queueing, partial
 * writes, backpressure, half-close and the once-only `connectionLost` behave the
 * same on every runtime.
 */
export class Connection implements Transport {
  /** The protocol this connection feeds, once `connect` has run. */
  protocol: Protocol | undefined;
  /** Called once after `connectionLost`; the listening port uses it to count connections. */
  onClose: ((connection: Connection) => void) | undefined;
  /** Where this connection adds the bytes it reads and writes; the listening port sets it, unless metrics are off. */
  traffic: TrafficCounts | undefined;

  #socket: Socket;
  readonly #peer: Address;
  readonly #host: Address;
  readonly #settings: Settings;

  // Allocated at the first write the socket does not take: most connections never queue.
  #queue: Uint8Array[] | undefined;
  #queued = 0;
  // #state, #tlsState and the yes-or-no states, in bits (see the accessors): one field rather than eleven.
  #flags = READING;
  #abortReason: Reason | undefined;
  // What only some connections need lives in objects made when first needed (see the accessors):
  // every field here is memory on every idle connection.
  #linger: Linger | undefined;
  #idle: Idle | undefined;
  #tlsStart: TlsStart | undefined;
  #producer: Producer | undefined;
  #inCallback = 0;
  #deferredClose: { error: unknown } | undefined;
  #reason: Reason | undefined;

  /**
   * @param socket The adapter's socket.
   * @param peer The peer's address.
   * @param host This end's address.
   * @param options Watermarks, idle timeout, linger and error reporting.
   * @throws {RangeError} If `lowWaterMark` is above `highWaterMark` or either is negative.
   */
  constructor(socket: Socket, peer: Address, host: Address, options: ConnectionOptions = {}) {
    this.#socket = socket;
    this.#peer = peer;
    this.#host = host;
    this.#settings = settingsOf(options);
  }

  /**
   * Attaches `protocol` and calls its `makeConnection`.
   *
   * @param protocol The protocol to feed.
   */
  connect(protocol: Protocol): void {
    this.protocol = protocol;
    if (this.#settings.idleTimeout > 0) {
      this.#lastActivity = Date.now();
      this.#idleTimer = setTimeout(Connection.#idleFired, this.#settings.idleTimeout, this);
    }
    this.#call(protocol, protocol.makeConnection, this as Transport);
  }

  // --- State bits ----------------------------------------------------------

  get #socketFull(): boolean {
    return (this.#flags & SOCKET_FULL) !== 0;
  }

  set #socketFull(on: boolean) {
    this.#flags = on ? this.#flags | SOCKET_FULL : this.#flags & ~SOCKET_FULL;
  }

  get #reading(): boolean {
    return (this.#flags & READING) !== 0;
  }

  set #reading(on: boolean) {
    this.#flags = on ? this.#flags | READING : this.#flags & ~READING;
  }

  get #userPaused(): boolean {
    return (this.#flags & USER_PAUSED) !== 0;
  }

  set #userPaused(on: boolean) {
    this.#flags = on ? this.#flags | USER_PAUSED : this.#flags & ~USER_PAUSED;
  }

  get #writePaused(): boolean {
    return (this.#flags & WRITE_PAUSED) !== 0;
  }

  set #writePaused(on: boolean) {
    this.#flags = on ? this.#flags | WRITE_PAUSED : this.#flags & ~WRITE_PAUSED;
  }

  get #readEOF(): boolean {
    return (this.#flags & READ_EOF) !== 0;
  }

  set #readEOF(on: boolean) {
    this.#flags = on ? this.#flags | READ_EOF : this.#flags & ~READ_EOF;
  }

  get #writeShut(): boolean {
    return (this.#flags & WRITE_SHUT) !== 0;
  }

  set #writeShut(on: boolean) {
    this.#flags = on ? this.#flags | WRITE_SHUT : this.#flags & ~WRITE_SHUT;
  }

  get #closeRequested(): boolean {
    return (this.#flags & CLOSE_REQUESTED) !== 0;
  }

  set #closeRequested(on: boolean) {
    this.#flags = on ? this.#flags | CLOSE_REQUESTED : this.#flags & ~CLOSE_REQUESTED;
  }

  get #writeShutRequested(): boolean {
    return (this.#flags & WRITE_SHUT_REQUESTED) !== 0;
  }

  set #writeShutRequested(on: boolean) {
    this.#flags = on ? this.#flags | WRITE_SHUT_REQUESTED : this.#flags & ~WRITE_SHUT_REQUESTED;
  }

  get #holding(): boolean {
    return (this.#flags & HOLDING) !== 0;
  }

  set #holding(on: boolean) {
    this.#flags = on ? this.#flags | HOLDING : this.#flags & ~HOLDING;
  }

  get #state(): State {
    return STATES[(this.#flags >> STATE_SHIFT) & 3]!;
  }

  set #state(state: State) {
    this.#flags = (this.#flags & ~(3 << STATE_SHIFT)) | (STATES.indexOf(state) << STATE_SHIFT);
  }

  get #tlsState(): TlsState {
    return TLS_STATES[(this.#flags >> TLS_STATE_SHIFT) & 3]!;
  }

  set #tlsState(state: TlsState) {
    this.#flags = (this.#flags & ~(3 << TLS_STATE_SHIFT)) | (TLS_STATES.indexOf(state) << TLS_STATE_SHIFT);
  }

  // --- State kept aside until needed --------------------------------------
  // A setter given the nothing its getter already gives makes no object.

  get #loseReason(): Reason | undefined {
    return this.#linger?.loseReason;
  }

  set #loseReason(reason: Reason | undefined) {
    if (reason !== undefined || this.#linger !== undefined) this.#lingering().loseReason = reason;
  }

  get #lastActivity(): number {
    return this.#idle?.lastActivity ?? 0;
  }

  set #lastActivity(ms: number) {
    (this.#idle ??= { timer: undefined, lastActivity: 0 }).lastActivity = ms;
  }

  get #idleTimer(): ReturnType<typeof setTimeout> | undefined {
    return this.#idle?.timer;
  }

  set #idleTimer(timer: ReturnType<typeof setTimeout> | undefined) {
    if (timer !== undefined || this.#idle !== undefined) (this.#idle ??= { timer: undefined, lastActivity: 0 }).timer = timer;
  }

  #startingTls(): TlsStart {
    return this.#tlsStart ??= { held: undefined, heldBytes: 0, options: undefined, settle: undefined };
  }

  get #held(): Uint8Array[] | undefined {
    return this.#tlsStart?.held;
  }

  set #held(held: Uint8Array[] | undefined) {
    if (held !== undefined || this.#tlsStart !== undefined) this.#startingTls().held = held;
  }

  get #heldBytes(): number {
    return this.#tlsStart?.heldBytes ?? 0;
  }

  set #heldBytes(bytes: number) {
    if (bytes !== 0 || this.#tlsStart !== undefined) this.#startingTls().heldBytes = bytes;
  }

  get #tlsOptions(): StartTlsOptions | undefined {
    return this.#tlsStart?.options;
  }

  set #tlsOptions(options: StartTlsOptions | undefined) {
    if (options !== undefined || this.#tlsStart !== undefined) this.#startingTls().options = options;
  }

  get #tlsSettle(): ((error?: StartTlsError) => void) | undefined {
    return this.#tlsStart?.settle;
  }

  set #tlsSettle(settle: ((error?: StartTlsError) => void) | undefined) {
    if (settle !== undefined || this.#tlsStart !== undefined) this.#startingTls().settle = settle;
  }

  // --- Transport -----------------------------------------------------------

  /** {@inheritDoc Transport.write} */
  write(data: Uint8Array | string): void {
    // The bits read once: this runs for every chunk an echo sends, and nothing below changes them before the socket is written.
    const flags = this.#flags;
    if ((flags & NOT_WRITING) !== 0 || this.#abortReason !== undefined) return;
    let bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length === 0) return;
    // Another connection's socket may hold on to what it is given: only the lender's own
    // adapter knows not to reuse its buffer until its write is done.
    // Reading .buffer makes JavaScriptCore (and V8, for small arrays) allocate an ArrayBuffer
    // object, so look only while a chunk is lent (Deno native, and Node once reads are lent).
    if (lentBuffer !== undefined && bytes.buffer === lentBuffer && this !== lender) bytes = bytes.slice();
    if (this.#settings.idleTimeout > 0) this.#lastActivity = Date.now();
    if ((flags & HOLDING) !== 0) {
      if (lentBuffer !== undefined && bytes.buffer === lentBuffer) bytes = bytes.slice();
      (this.#held ??= []).push(bytes);
      this.#heldBytes += bytes.length;
      this.#checkHigh();
      return;
    }
    if ((flags & SOCKET_FULL) === 0 && this.#queued === 0) {
      const socket = this.#socket;
      const taken = socket.write(bytes);
      const traffic = this.traffic;
      if (traffic !== undefined && taken > 0) traffic.bytesWritten += taken;
      if (taken >= bytes.length) {
        if (socket.pending > this.#settings.high) this.#checkHigh();
        return;
      }
      bytes = bytes.subarray(Math.max(taken, 0));
      this.#socketFull = true;
    }
    // Queued bytes outlive the callback; a lent buffer is read into again once it returns.
    if (lentBuffer !== undefined && bytes.buffer === lentBuffer) bytes = bytes.slice();
    (this.#queue ??= []).push(bytes);
    this.#queued += bytes.length;
    this.#checkHigh();
  }

  /** {@inheritDoc Transport.writeSequence} */
  writeSequence(data: Iterable<Uint8Array | string>): void {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (const item of data) {
      const bytes = typeof item === "string" ? encoder.encode(item) : item;
      chunks.push(bytes);
      total += bytes.length;
    }
    this.write(chunks.length === 1 ? chunks[0]! : concat(chunks, total));
  }

  /** {@inheritDoc Transport.loseConnection} */
  loseConnection(reason?: Reason): void {
    if (this.#state !== "open") return;
    this.#loseReason = reason;
    this.#state = "disconnecting";
    // Keep reading (and discarding) so the peer's FIN is seen and the close stays clean.
    this.#userPaused = false;
    this.#updateReading();
    this.#finishDisconnect();
  }

  /**
   * Sends FIN once everything queued has been sent, and goes on reading, as Twisted's
   * `loseWriteConnection`: the peer sees the end of our data and may still answer.
   */
  loseWriteConnection(): void {
    if (this.#state !== "open" || this.#writeShutRequested) return;
    this.#writeShutRequested = true;
    if (this.#queued === 0) this.#shutWrite();
  }

  /**
   * What TLS agreed on (ALPN, the peer's certificate where the runtime exposes it).
   *
   * @returns The TLS details, or `undefined` for a connection without TLS.
   */
  getTlsInfo(): TlsInfo | undefined {
    return this.#socket.tlsInfo?.();
  }

  /**
   * Upgrades this open connection to TLS, as Twisted's `ITLSTransport.startTLS`: what was
   * written before the call goes out in plaintext first, everything written after it goes
   * through TLS, and the protocol keeps this transport. No plaintext is read after the call:
   * a STARTTLS protocol calls it from `dataReceived` once it has answered the command.
   * On Deno native, call it from `dataReceived` or `connectionMade`, and only as a client.
   *
   * @param options `side: "server"` with certificate and key files, or `side: "client"`
   * with the SNI name and, optionally, trust roots, a client certificate and ALPN.
   * @returns Resolves once the handshake is done; rejects with a one-line {@link StartTlsError}
   * if TLS cannot start (closed connection, second call, unsupported runtime, failed
   * handshake). A failure after the switch began also closes the connection, and
   * `connectionLost` gets the same message, so a protocol need not handle the rejection.
   * @example
   * ```ts
   * import { type Connection, LineReceiver } from "../mod.ts";
   * class Smtpish extends LineReceiver {
   *   override lineReceived(line: Uint8Array): void {
   *     if (new TextDecoder().decode(line) !== "STARTTLS") return;
   *     this.sendLine("220 Ready");
   *     void (this.transport as Connection).startTLS({ side: "server", privateKey: "key.pem", certKey: "cert.pem" });
   *   }
   * }
   * ```
   */
  startTLS(options: StartTlsOptions): Promise<void> {
    const refuse = (why: string) => this.#handled(Promise.reject(new StartTlsError(`${this.#cannotStartTls()}: ${why}`)));
    if (this.#state === "closed") return refuse("the connection is closed");
    if (this.#state !== "open" || this.#writeShutRequested) return refuse("the connection is closing");
    if (this.#tlsState !== "plain") return refuse("TLS was already started");
    if (this.#socket.tlsInfo?.() !== undefined) return refuse("the connection is already TLS");
    if (this.#socket.startTls === undefined) return refuse("this adapter cannot upgrade a connection");
    try {
      checkTlsPolicy(options);
    } catch (error) {
      return refuse((error as Error).message);
    }
    this.#tlsState = "draining";
    // The call's own ciphers and minVersion win over the listen or connect option's.
    this.#tlsOptions = withTlsPolicy(options, this.#settings.tls);
    this.#holding = true;
    // Bytes after the command belong to the handshake; the adapter hands them to TLS.
    if (this.#reading) this.#socket.pauseReading();
    const done = new Promise<void>((resolve, reject) => {
      this.#tlsSettle = (error) => {
        this.#tlsSettle = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    if (this.#queued === 0) this.#beginTls();
    return this.#handled(done);
  }

  /** Why the connection ended, once `connectionLost` has run. */
  get reason(): Reason | undefined {
    return this.#reason;
  }

  /** {@inheritDoc Transport.abortConnection} */
  abortConnection(): void {
    this.#abort(new ConnectionAborted());
  }

  /** {@inheritDoc Transport.getPeer} */
  getPeer(): Address {
    return this.#peer;
  }

  /** {@inheritDoc Transport.getHost} */
  getHost(): Address {
    return this.#host;
  }

  /** {@inheritDoc Transport.bufferSize} */
  get bufferSize(): number {
    const unsent = this.#queued + this.#socket.pending;
    const presumed = this.#socket.presumedTaken;
    if (presumed === undefined) return unsent + this.#heldBytes;
    // Hide at most the high-water mark, so that a producer writing in a loop is still paused (at twice the mark).
    return Math.max(0, unsent - Math.min(presumed, this.#settings.high)) + this.#heldBytes;
  }

  /** {@inheritDoc Transport.disconnecting} */
  get disconnecting(): boolean {
    return this.#state !== "open";
  }

  /** Whether the connection has closed and `connectionLost` has run, as Twisted's `disconnected`. */
  get disconnected(): boolean {
    return this.#state === "closed";
  }

  /** Whether the connection is currently reading from the peer. */
  get reading(): boolean {
    return this.#reading;
  }

  /** Stops reading from the peer until `resumeProducing()`. */
  pauseProducing(): void {
    this.#userPaused = true;
    this.#updateReading();
  }

  /** Reads from the peer again after `pauseProducing()`. */
  resumeProducing(): void {
    this.#userPaused = false;
    this.#updateReading();
  }

  /** Same as `loseConnection()`, as in Twisted. */
  stopProducing(): void {
    this.loseConnection();
  }

  /** {@inheritDoc Transport.registerProducer} */
  registerProducer(producer: Producer): void {
    if (this.#producer !== undefined) {
      throw new Error("Cannot register a producer: one is already registered");
    }
    this.#producer = producer;
    if (this.#state === "closed") producer.stopProducing?.();
    else if (this.#writePaused) producer.pauseProducing();
  }

  /** {@inheritDoc Transport.unregisterProducer} */
  unregisterProducer(): void {
    this.#producer = undefined;
  }

  // --- Events from the adapter ---------------------------------------------

  /** Whether the protocol may keep the chunks it is given; if not, the adapter may lend it a buffer it reuses. */
  get keepsData(): boolean {
    return this.protocol?.keepsData !== false;
  }

  /**
   * The adapter read `data` from the peer.
   *
   * @param data The bytes read; they become the protocol's unless `lent`.
   * @param lent Whether the adapter reads into `data`'s buffer again once this returns
   * (only when `keepsData` is false). The adapter must also not do so while its own
   * socket still holds a write of those bytes.
   */
  received(data: Uint8Array, lent = false): void {
    const state = this.#flags & STATE_BITS;
    if (state !== 0) {
      if (state === DISCONNECTING) this.#discard(data.length);
      return;
    }
    const protocol = this.protocol;
    if (protocol === undefined) return;
    if (this.#settings.idleTimeout > 0) this.#lastActivity = Date.now();
    const traffic = this.traffic;
    if (traffic !== undefined) traffic.bytesRead += data.length;
    if (!lent) {
      this.#call(protocol, protocol.dataReceived, data);
      return;
    }
    const outerBuffer = lentBuffer;
    const outerLender = lender;
    lentBuffer = data.buffer;
    lender = this;
    try {
      this.#call(protocol, protocol.dataReceived, data);
    } finally {
      lentBuffer = outerBuffer;
      lender = outerLender;
    }
  }

  /** The adapter's socket can take more output (or has drained what it held). */
  writable(): void {
    if (this.#state === "closed" || this.#tlsState === "switching") return;
    if (this.#settings.idleTimeout > 0) this.#lastActivity = Date.now();
    this.#socketFull = false;
    this.#flush();
  }

  /** The peer has shut down its writing side (FIN). */
  readEnded(): void {
    if (this.#readEOF || this.#state === "closed") return;
    this.#readEOF = true;
    if (this.#state === "disconnecting") {
      this.#finishDisconnect();
      return;
    }
    const protocol = this.protocol;
    if (protocol !== undefined) this.#call(protocol, protocol.readConnectionLost, undefined);
  }

  /**
   * The socket is gone. Runs `connectionLost` once, whatever called it first.
   *
   * @param error The runtime's error, if the connection ended uncleanly.
   */
  closed(error?: unknown): void {
    if (this.#state === "closed") return;
    if (this.#inCallback > 0) {
      // Never run connectionLost inside another callback of the same protocol.
      this.#deferredClose ??= { error };
      return;
    }
    this.#state = "closed";
    clearTimer(this.#linger?.timer);
    clearTimer(this.#idleTimer);
    this.#queue = undefined;
    this.#queued = 0;
    this.#held = undefined;
    this.#heldBytes = 0;
    this.#tlsSettle?.(new StartTlsError(`${this.#cannotStartTls()}: the connection closed during the TLS handshake`));
    const reason = this.#abortReason ??
      (error === undefined ? (this.#loseReason ?? connectionDone) : new ConnectionLost(describe(error), { cause: error }));
    this.#reason = reason;
    const protocol = this.protocol;
    if (protocol !== undefined) {
      protocol.connected = false;
      try {
        protocol.connectionLost(reason);
      } catch (err) {
        this.#settings.onError(err, this.#peer);
      }
    }
    this.#producer?.stopProducing?.();
    this.#producer = undefined;
    this.onClose?.(this);
  }

  // --- Internals -----------------------------------------------------------

  // The caller may ignore the promise: failures also reach connectionLost, so an unheard rejection is no crash.
  #handled(promise: Promise<void>): Promise<void> {
    promise.catch(() => {});
    return promise;
  }

  #cannotStartTls(): string {
    return `Cannot start TLS on the connection with ${formatAddress(this.#peer)}`;
  }

  #beginTls(): void {
    this.#tlsState = "switching";
    let upgrade: Promise<Socket>;
    try {
      upgrade = this.#socket.startTls!(this.#tlsOptions!);
    } catch (error) {
      upgrade = Promise.reject(error);
    }
    upgrade.then((socket) => this.#tlsStarted(socket), (error) => this.#tlsFailed(error));
  }

  #tlsStarted(socket: Socket): void {
    if (this.#state === "closed") {
      socket.abort();
      return;
    }
    this.#socket = socket;
    this.#tlsState = "tls";
    this.#holding = false;
    this.#queue = this.#held;
    this.#queued = this.#heldBytes;
    this.#held = undefined;
    this.#heldBytes = 0;
    this.#socketFull = false;
    // The adapter's TLS socket starts reading; keep it paused if the protocol or the watermarks say so.
    if (!this.#reading) socket.pauseReading();
    this.#tlsSettle?.();
    this.#flush();
  }

  #tlsFailed(error: unknown): void {
    // A failed handshake reads as on a tls: or ssl: endpoint; twine's own reasons (a missing file, a refusal) pass as they are.
    const problem = handshakeProblem(error, this.#tlsOptions!.side);
    const message = `${this.#cannotStartTls()}: ${problem?.text ?? describe(error).split("\n")[0]!}`;
    this.#tlsSettle?.(new StartTlsError(message, { cause: error }, problem?.code));
    if (this.#state === "closed") return;
    this.#abortReason ??= new ConnectionLost(message, { cause: error });
    this.#state = "disconnecting";
    // The adapter has closed what it opened; this frees the plaintext socket on every runtime.
    this.#socket.abort();
    this.closed(error);
  }

  // Method and argument rather than a closure: this runs once per chunk read.
  #call<A>(protocol: Protocol, method: (this: Protocol, arg: A) => void, arg: A): void {
    this.#inCallback++;
    try {
      method.call(protocol, arg);
    } catch (error) {
      this.#failed(error);
    } finally {
      if (--this.#inCallback === 0 && this.#deferredClose !== undefined) this.#runDeferredClose();
    }
  }

  #failed(error: unknown): void {
    this.#settings.onError(error, this.#peer);
    this.#abort(new ProtocolError(`Protocol raised ${describe(error)}`, { cause: error }));
  }

  #runDeferredClose(): void {
    const { error } = this.#deferredClose!;
    this.#deferredClose = undefined;
    this.closed(error);
  }

  // Re-armed for the time left rather than reset on every chunk: one Date.now() per chunk is cheaper than a timer.
  #checkIdle(): void {
    if (this.#state === "closed") return;
    const idle = Date.now() - this.#lastActivity;
    if (idle < this.#settings.idleTimeout) {
      this.#idleTimer = setTimeout(Connection.#idleFired, this.#settings.idleTimeout - idle, this);
      return;
    }
    const seconds = this.#settings.idleTimeout / 1000;
    if (this.#holding) {
      // While startTLS() switches there is no FIN to send: the plaintext socket belongs to the handshake.
      this.#abort(new IdleTimeout(`Connection idle for ${seconds} s`));
    } else if (this.#state === "open") {
      // As Twisted's TimeoutMixin: a clean close, so the peer gets what is queued, then FIN, not RST.
      this.loseConnection(new IdleTimeout(`Connection idle for ${seconds} s`));
      // What is still unsent gets as long again to move; once it is out, the linger bounds take over.
      if (!this.disconnected && this.#unsent()) {
        this.#lastActivity = Date.now();
        this.#idleTimer = setTimeout(Connection.#idleFired, this.#settings.idleTimeout, this);
      }
    } else if (this.#abortReason === undefined && this.#unsent()) {
      // Closing, and the output has not moved for as long: the peer does not read, and FIN would wait for ever.
      const why = this.#loseReason instanceof IdleTimeout ? `, and its output did not move for ${seconds} s more` : " while closing, with output unsent";
      this.#abort(new IdleTimeout(`Connection idle for ${seconds} s${why}`));
    }
  }

  // Output the operating system has not taken: in the core's queue or the adapter's.
  #unsent(): boolean {
    return this.#queued > 0 || this.#socket.pending > 0;
  }

  #discard(bytes: number): void {
    const linger = this.#lingering();
    linger.discarded += bytes;
    linger.lastDiscard = Date.now();
    if (linger.discarded <= this.#settings.lingerBytes || this.#closeRequested || this.#abortReason !== undefined) return;
    if (this.#unsent() || this.#holding) {
      // Closing now would wait for output a peer that sends and does not read may never take.
      this.#abort(new ConnectionAborted(`Cannot close the connection cleanly: the peer sent more than ${this.#settings.lingerBytes} bytes while output was unsent`));
      return;
    }
    this.#closeRequested = true;
    clearTimer(this.#linger?.timer);
    this.#socket.close();
  }

  // One timer for both linger bounds, re-armed when it fires rather than on every read, as #checkIdle.
  #checkLinger(): void {
    const now = Date.now();
    const linger = this.#linger!;
    const due = Math.min(linger.until, linger.lastDiscard + this.#settings.lingerIdle);
    if (now < due) {
      linger.timer = setTimeout(Connection.#lingerFired, due - now, this);
      return;
    }
    this.#closeRequested = true;
    this.#socket.close();
  }

  // Timers get the connection as their argument: a connection then carries no closures of its own
  // for them, which is memory on every idle connection.
  static readonly #idleFired = (connection: Connection): void => connection.#checkIdle();
  static readonly #lingerFired = (connection: Connection): void => connection.#checkLinger();

  #abort(reason: Reason): void {
    if (this.#state === "closed" || this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#state = "disconnecting";
    this.#queue = undefined;
    this.#queued = 0;
    clearTimer(this.#linger?.timer);
    this.#socket.abort();
  }

  #flush(): void {
    while (this.#queued > 0 && !this.#socketFull) {
      // Bytes are queued only into the queue: with some queued, it exists.
      let queue = this.#queue!;
      if (queue.length > 1) queue = this.#queue = [concat(queue, this.#queued)];
      const chunk = queue[0]!;
      const taken = Math.max(this.#socket.write(chunk), 0);
      if (this.traffic !== undefined) this.traffic.bytesWritten += taken;
      if (taken >= chunk.length) {
        queue.length = 0;
        this.#queued = 0;
      } else {
        queue[0] = chunk.subarray(taken);
        this.#queued -= taken;
        this.#socketFull = true;
      }
    }
    if (this.#writePaused && this.bufferSize <= this.#settings.low) {
      this.#writePaused = false;
      this.#updateReading();
      this.#producer?.resumeProducing();
    }
    if (this.#tlsState === "draining" && this.#queued === 0) this.#beginTls();
    else if (this.#state === "disconnecting") this.#finishDisconnect();
    else if (this.#writeShutRequested && this.#queued === 0) this.#shutWrite();
  }

  #shutWrite(): void {
    if (this.#writeShut || this.#holding) return;
    this.#writeShut = true;
    this.#socket.shutdownWrite();
  }

  #checkHigh(): void {
    if (this.#writePaused || this.bufferSize <= this.#settings.high) return;
    this.#writePaused = true;
    this.#updateReading();
    this.#producer?.pauseProducing();
  }

  #updateReading(): void {
    const want = this.#state !== "closed" && !this.#readEOF && !this.#userPaused && !this.#writePaused;
    if (want === this.#reading) return;
    this.#reading = want;
    // The plaintext socket stays paused while TLS starts; the TLS socket takes this state over.
    if (this.#holding) return;
    if (want) this.#socket.resumeReading();
    else this.#socket.pauseReading();
  }

  #finishDisconnect(): void {
    if (this.#queued > 0 || this.#holding || this.#abortReason !== undefined || this.#closeRequested) return;
    if (this.#readEOF) {
      this.#closeRequested = true;
      clearTimer(this.#linger?.timer);
      this.#socket.close();
    } else if (this.#linger?.timer === undefined) {
      // Closing with unread input makes the kernel send RST, which can destroy
      // output the peer has not read yet; so send FIN and wait for the peer's.
      // (After loseWriteConnection() the FIN is already sent; only the wait remains.)
      if (!this.#writeShut) this.#socket.shutdownWrite();
      this.#writeShut = true;
      // Everything we wrote is with the kernel by now, so a plain close loses nothing of ours.
      const linger = this.#lingering();
      linger.lastDiscard = Date.now();
      linger.until = linger.lastDiscard + this.#settings.linger;
      linger.timer = setTimeout(Connection.#lingerFired, Math.min(this.#settings.linger, this.#settings.lingerIdle), this);
    }
  }

  #lingering(): Linger {
    return this.#linger ??= { loseReason: undefined, timer: undefined, until: 0, discarded: 0, lastDiscard: 0 };
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
