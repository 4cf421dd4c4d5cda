import { AcceptErrors } from "./accept_errors.ts";
import { type Address, formatAddress } from "./address.ts";
import { Connection, type ConnectionOptions, type TrafficCounts } from "./connection.ts";
import { IdleTimeout, ProtocolError } from "./errors.ts";
import type { Factory } from "./factory.ts";
import { FramingError } from "../framing/framing_error.ts";
import { defaultLog, type LogFunction } from "./log_event.ts";
import type { PortMetrics } from "./port_metrics.ts";
import { Protocol } from "./protocol.ts";
import type { ProxyProtocolReceiver } from "../proxy/proxy_protocol.ts";
import { RateLimitedLog } from "./rate_limited_log.ts";
import type { Socket } from "./socket.ts";

// Loaded by preparePort() for the first listener that reads PROXY headers: most never do, and
// its two modules are a millisecond of start-up on Bun.
let proxyReceiver: typeof ProxyProtocolReceiver | undefined;

/**
 * Loads what a {@link Port} with these options needs beyond the core of it (PROXY's receiver);
 * every adapter awaits it before it binds, since a port's `accept` cannot wait.
 *
 * @param options The listen options.
 * @returns A promise that settles once loaded.
 */
export async function preparePort(options: ListenOptions): Promise<void> {
  if (options.proxyProtocol === true && proxyReceiver === undefined) {
    proxyReceiver = (await import("../proxy/proxy_protocol.ts")).ProxyProtocolReceiver;
  }
}

/** Options of `listen`, the same on every runtime. */
export interface ListenOptions extends ConnectionOptions {
  /**
   * The port to listen on; 0 picks a free one (read it back from `address`).
   * @default 8000
   */
  port?: number;
  /**
   * The address to listen on. Not exposed to the network unless asked.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Connections served at once; past it, new connections are closed at once.
   * @default Infinity
   */
  maxConnections?: number;
  /**
   * Where the port reports what it does on its own, such as refusing connections over the
   * limit: each line, and the same as a `LogEvent` (event name, level, endpoint, peer,
   * fields) for structured logs. A protocol that throws is reported here too, unless
   * `onError` is given.
   * @default console.error, the line alone
   */
  log?: LogFunction;
  /**
   * Count the bytes each connection reads and writes for {@link ListeningPort.metrics}.
   * `false` leaves the data path untouched and `bytesRead` and `bytesWritten` at 0;
   * the other counters are kept either way.
   * @default true
   */
  metrics?: boolean;
  /**
   * Read a PROXY protocol header (v1 or v2, as HAProxy's `send-proxy` and `send-proxy-v2`
   * send) before the protocol sees any data; `getPeer()` and `getHost()` are then the
   * original client and destination. A connection without a valid header is closed.
   * Without this option a PROXY header is data like any other.
   * @default false
   */
  proxyProtocol?: boolean;
  /**
   * With `proxyProtocol`, how long the header may take to arrive, in milliseconds.
   * @default 3000
   */
  proxyHeaderTimeout?: number;
  /**
   * Let other processes bind the same address and port (`SO_REUSEPORT`), so that the
   * kernel spreads connections over them: how `--workers` shares one port.
   * @default false
   */
  reusePort?: boolean;
  /**
   * On a TLS listener, how long a connection's handshake may take, in milliseconds, from
   * accept; one that has not finished by then is closed and logged as a failed handshake.
   * On Deno native the runtime keeps the TCP socket of such a connection until the peer
   * sends, closes or resets (see docs/endpoints.md).
   * @default the idle timeout if set, else 120000 (Node's default)
   */
  handshakeTimeout?: number;
  /**
   * Called once if the runtime's listener stops for good (see {@link Port.listenerLost}); by then
   * the port has logged one line and closed. A server process should exit non-zero here.
   * @default nothing: the port closes and the process goes on
   */
  onListenerLost?: (error: Error) => void;
}

/** Options of {@link ListeningPort.close}. */
export interface CloseOptions {
  /**
   * How long open connections may go on before they are closed, in milliseconds.
   * They then get up to one more second to flush what is queued before they are aborted.
   * @default 5000
   */
  grace?: number;
}

/** A server socket, as returned by `listen` on every runtime. */
export interface ListeningPort {
  /** The address actually bound; with port 0, the port picked. */
  readonly address: Address;
  /** How many connections are open. */
  readonly connections: number;
  /**
   * What the port has counted so far: connections accepted, refused and open, bytes,
   * accept failures by kind, TLS handshakes, rejected PROXY headers, idle and protocol-error closes.
   *
   * @returns A frozen snapshot, a new object each call.
   */
  metrics(): PortMetrics;
  /**
   * Stops accepting, lets open connections finish for up to `grace`, then closes
   * what is left and calls the factory's `stopFactory`. Safe to call twice.
   *
   * @param options The grace period.
   * @returns A promise that settles once every connection has closed.
   */
  close(options?: CloseOptions): Promise<void>;
}

const FLUSH_BOUND_MS = 1000;

/** Closes a refused connection the same orderly way a protocol would. */
class Refused extends Protocol {
  override connectionMade(): void {
    this.transport.loseConnection();
  }
}

/**
 * The runtime-independent half of a listening port: builds a protocol and a
 * {@link Connection} for each accepted socket, counts them, and closes them all
 * on `close()`. Adapters create it once the socket is bound.
 */
export class Port implements ListeningPort {
  readonly address: Address;
  readonly #factory: Factory;
  readonly #options: ListenOptions;
  readonly #stopListening: () => void | Promise<void>;
  readonly #open = new Set<Connection>();
  #waiters: (() => void)[] = [];
  #closing: Promise<void> | undefined;
  // Set once the grace period of close() is over: a connection accepted after that is aborted.
  #graceOver = false;
  readonly #max: number;
  readonly #log: LogFunction;
  readonly #endpoint: string;
  readonly #refusals: RateLimitedLog;
  readonly #acceptErrors: AcceptErrors;
  readonly #proxyLog: RateLimitedLog | undefined;
  readonly #traffic: TrafficCounts | undefined;
  readonly #connectionOptions: ConnectionOptions;
  #accepted = 0;
  #handshakesCompleted = 0;
  #handshakesFailed = 0;
  #closedIdle = 0;
  #closedProtocolError = 0;

  /**
   * @param factory The factory to build protocols with; its `doStart` runs now.
   * @param address The bound address.
   * @param options The options for each connection.
   * @param stopListening Stops the runtime's listener from accepting.
   * @throws {Error} With `proxyProtocol`, if {@link preparePort} has not been awaited.
   */
  constructor(
    factory: Factory,
    address: Address,
    options: ListenOptions,
    stopListening: () => void | Promise<void>,
  ) {
    this.#factory = factory;
    this.address = address;
    this.#options = options;
    this.#stopListening = stopListening;
    this.#max = options.maxConnections ?? Infinity;
    this.#log = options.log ?? defaultLog;
    const endpoint = formatAddress(address);
    this.#endpoint = endpoint;
    this.#refusals = new RateLimitedLog(this.#log, (_, held, total) =>
      `Refused ${held} connection${held === 1 ? "" : "s"}: ${this.#max} open, the most allowed (${total} refused in all)`
    , { endpoint });
    this.#acceptErrors = new AcceptErrors({ address: endpoint, log: this.#log });
    if (options.proxyProtocol === true) {
      if (proxyReceiver === undefined) throw new Error("Cannot read PROXY headers: await preparePort(options) before making the Port");
      this.#proxyLog = new RateLimitedLog(this.#log, undefined, { endpoint });
    }
    if (options.metrics !== false) this.#traffic = { bytesRead: 0, bytesWritten: 0 };
    // Without an onError of the caller's, a throwing protocol is reported through the port's log.
    this.#connectionOptions = options.onError !== undefined ? options : {
      ...options,
      onError: (error, peer) => {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        const from = formatAddress(peer);
        this.#log(`Protocol error on connection from ${from}: ${message}`, {
          event: "protocol_error",
          level: "error",
          endpoint,
          peer: from,
          fields: { error: message },
        });
      },
    };
    factory.doStart();
  }

  get connections(): number {
    return this.#open.size;
  }

  metrics(): PortMetrics {
    const failures = this.#acceptErrors.counts;
    return Object.freeze({
      connectionsAccepted: this.#accepted,
      connectionsRefused: this.#refusals.total,
      connectionsOpen: this.#open.size,
      bytesRead: this.#traffic?.bytesRead ?? 0,
      bytesWritten: this.#traffic?.bytesWritten ?? 0,
      acceptFailuresPeerGone: failures.peer,
      acceptFailuresResources: failures.resources,
      acceptFailuresOther: failures.other,
      tlsHandshakesCompleted: this.#handshakesCompleted,
      tlsHandshakesFailed: this.#handshakesFailed,
      proxyHeadersRejected: this.#proxyLog?.total ?? 0,
      connectionsClosedIdle: this.#closedIdle,
      connectionsClosedProtocolError: this.#closedProtocolError,
    });
  }

  /**
   * Counts a TLS handshake that completed on this port's listener; the adapters' TLS listeners call it.
   */
  handshakeCompleted(): void {
    this.#handshakesCompleted++;
  }

  /**
   * Counts a TLS handshake that failed or timed out on this port's listener; the adapters'
   * TLS listeners call it beside logging the failure.
   */
  handshakeFailed(): void {
    this.#handshakesFailed++;
  }

  /** Whether `close()` has been called. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Takes an accepted socket: builds its protocol and connection. The adapter
   * routes the socket's events to the returned connection.
   *
   * @param socket The adapter's socket.
   * @param peer The peer's address.
   * @param host This end's address.
   * @param attach Routes the socket's events to the connection; runs before the protocol starts. It
   * is given the socket too, so that one function can serve every connection.
   * @returns The connection.
   */
  accept(socket: Socket, peer: Address, host: Address, attach: (connection: Connection, socket: Socket) => void): Connection {
    this.#acceptErrors.accepted();
    this.#accepted++;
    const connection = new Connection(socket, peer, host, this.#connectionOptions);
    connection.traffic = this.#traffic;
    attach(connection, socket);
    this.#open.add(connection);
    connection.onClose = this.#connectionClosed;
    // The runtime may hand over a connection it accepted before it saw close() (Deno does, a turn
    // later): the peer is connected already, so it is served within the grace period, not reset.
    if (this.#graceOver) {
      connection.abortConnection();
      return connection;
    }
    if (this.#open.size > this.#max) {
      this.#refusals.write("", {
        event: "connection_refused",
        level: "warn",
        peer: formatAddress(peer),
        fields: { limit: this.#max },
      });
      connection.connect(new Refused());
      return connection;
    }
    let protocol: Protocol | null;
    try {
      // The factory builds the real protocol once the header says who the peer is.
      protocol = this.#proxyLog !== undefined
        ? new proxyReceiver!(this.#factory, this.#proxyLog, this.#options.proxyHeaderTimeout)
        : this.#factory.buildProtocol(peer);
    } catch (error) {
      this.#closedProtocolError++;
      if (this.#options.onError !== undefined) this.#options.onError(error, peer);
      else {
        this.#log(`buildProtocol failed: ${String(error)}`, {
          event: "build_protocol_failed",
          level: "error",
          endpoint: this.#endpoint,
          peer: formatAddress(peer),
          fields: { error: String(error) },
        });
      }
      protocol = null;
    }
    connection.connect(protocol ?? new Refused());
    return connection;
  }

  /**
   * Counts a failed accept and says how long to wait before the next one: at once
   * when the peer was already gone, a short pause when out of descriptors or memory.
   * Logs at most one line a second per kind of failure.
   *
   * @param error What the runtime's accept threw or reported.
   * @returns Milliseconds to wait before accepting again; 0 for at once.
   */
  acceptFailed(error: unknown): number {
    // Once closing, a failure is the listener being closed: nothing to count or log.
    if (this.#closing !== undefined) return 0;
    return this.#acceptErrors.failed(error);
  }

  /**
   * Reports that the runtime's listener stopped accepting for good and cannot be revived:
   * logs one line, closes the port at once, then calls `onListenerLost`. A listener that is
   * up but never accepts is worse than one that is gone.
   *
   * @param error Why, in a message that reads after "Stopped listening on ADDRESS: ".
   */
  listenerLost(error: Error): void {
    if (this.#closing !== undefined) return;
    this.#log(`Stopped listening on ${this.#endpoint}: ${error.message}`, {
      event: "listener_lost",
      level: "error",
      endpoint: this.#endpoint,
      fields: { error: error.message },
    });
    void this.close({ grace: 0 }).then(() => this.#options.onListenerLost?.(error));
  }

  /** Accepts that failed, of every kind (see {@link acceptFailed}). */
  get acceptFailures(): number {
    return this.#acceptErrors.total;
  }

  /** Connections closed at once because `maxConnections` were open. */
  get refused(): number {
    return this.#refusals.total;
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.grace ?? 5000);
    return this.#closing;
  }

  async #close(grace: number): Promise<void> {
    await this.#stopListening();
    // An accept the runtime finished before it saw the listener close lands in the next turn: let it count as open.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await this.#drained(grace);
    this.#graceOver = true;
    for (const c of this.#open) c.loseConnection();
    await this.#drained(FLUSH_BOUND_MS);
    for (const c of this.#open) c.abortConnection();
    await this.#drained(FLUSH_BOUND_MS);
    this.#refusals.stop();
    this.#proxyLog?.stop();
    this.#acceptErrors.close();
    this.#factory.doStop();
  }

  // One function for all the port's connections, rather than a closure on each.
  readonly #connectionClosed = (c: Connection): void => {
    const reason = c.reason;
    if (reason instanceof IdleTimeout) this.#closedIdle++;
    else if (reason instanceof ProtocolError || reason instanceof FramingError) this.#closedProtocolError++;
    this.#open.delete(c);
    if (this.#open.size === 0) this.#wake();
  };

  #drained(ms: number): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#waiters.push(done);
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
