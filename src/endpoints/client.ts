import type { Address } from "../transport/address.ts";
import { Connection, type ConnectionOptions } from "../transport/connection.ts";
import { type ClientEndpoint, DEFAULT_CONNECT_TIMEOUT, parseClientEndpoint } from "./endpoints.ts";
import { ConnectError, connectError, describeClientEndpoint } from "./connect_error.ts";
import { checkTlsPolicy, withTlsPolicy } from "./tls_policy.ts";
import type { Reason } from "../transport/errors.ts";
import { Factory } from "../transport/factory.ts";
import { Protocol } from "../transport/protocol.ts";
import type { Socket } from "../transport/socket.ts";

/** How a connector asks an adapter to open one connection. */
export type Dial = (
  endpoint: ClientEndpoint,
  /**
   * Called by the adapter, synchronously, once the socket is open: builds the
   * connection and its protocol. `attach` routes the socket's events and runs first.
   */
  open: (socket: Socket, peer: Address, host: Address, attach: (connection: Connection) => void) => Connection,
) => Promise<void>;

/** A factory for client connections, as Twisted's `protocol.ClientFactory`. */
export class ClientFactory<P extends Protocol = Protocol> extends Factory<P> {
  /**
   * Makes a client factory that builds `protocol` for every connection.
   *
   * @param protocol The protocol class.
   * @returns The factory.
   */
  static override forProtocol<P extends Protocol>(protocol: new () => P): ClientFactory<P> {
    const factory = new ClientFactory<P>();
    factory.protocol = protocol;
    return factory;
  }

  /**
   * Called when a connection attempt starts.
   *
   * @param _connector The connector making the attempt.
   */
  startedConnecting(_connector: Connector): void {}

  /**
   * Called when a connection attempt fails.
   *
   * @param _connector The connector; `connector.connect()` tries again.
   * @param _reason A {@link ConnectError} with a code.
   */
  clientConnectionFailed(_connector: Connector, _reason: ConnectError): void {}

  /**
   * Called after an established connection has closed, after the protocol's `connectionLost`.
   *
   * @param _connector The connector; `connector.connect()` connects again.
   * @param _reason Why it closed.
   */
  clientConnectionLost(_connector: Connector, _reason: Reason): void {}
}

type Hooks = Partial<Pick<ClientFactory, "startedConnecting" | "clientConnectionFailed" | "clientConnectionLost">>;

/**
 * Makes connections to one endpoint for one factory, as Twisted's `Connector`:
 * `connect()` tries once; the factory's callbacks hear how it went and may call
 * `connect()` again.
 */
export class Connector {
  readonly #factory: Factory & Hooks;
  readonly #endpoint: ClientEndpoint;
  readonly #dial: Dial;
  readonly #options: ConnectionOptions;
  #state: "disconnected" | "connecting" | "connected" = "disconnected";
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #transport: Connection | undefined;
  #settled = false;
  #resolve!: (protocol: Protocol) => void;
  #reject!: (error: ConnectError) => void;
  /** Settles with the first connection's protocol, or the error after which no retry is scheduled. */
  readonly first: Promise<Protocol>;

  /**
   * @param factory Builds the protocol; a {@link ClientFactory} also hears of failures and losses.
   * @param endpoint Where to connect.
   * @param dial The adapter's way to open a socket.
   * @param options Watermarks, idle timeout, TLS policy and error reporting for the connection.
   * @throws {TypeError | RangeError} For a bad `tls` policy.
   */
  constructor(factory: Factory, endpoint: ClientEndpoint, dial: Dial, options: ConnectionOptions = {}) {
    checkTlsPolicy(options.tls, "Cannot connect with tls");
    this.#factory = factory;
    // The endpoint's own ciphers and minVersion win over the connect option's.
    this.#endpoint = endpoint.type === "tls" ? withTlsPolicy(endpoint, options.tls) : endpoint;
    this.#dial = dial;
    this.#options = options;
    this.first = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A caller that only uses the callbacks must not see an unhandled rejection.
    this.first.catch(() => {});
  }

  /** `disconnected`, `connecting` or `connected`. */
  get state(): string {
    return this.#state;
  }

  /** @returns Where this connector connects. */
  getDestination(): ClientEndpoint {
    return this.#endpoint;
  }

  /** Starts one connection attempt, unless one is under way or open. */
  connect(): void {
    if (this.#state !== "disconnected") return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#state = "connecting";
    const attempt = ++this.#attempt;
    this.#factory.doStart();
    this.#factory.startedConnecting?.(this);
    const seconds = this.#endpoint.timeout / 1000;
    this.#timer = setTimeout(() => {
      this.#failed(
        attempt,
        new ConnectError(`Cannot connect to ${describeClientEndpoint(this.#endpoint)}: timed out after ${seconds} s`, "ETIMEDOUT"),
      );
    }, this.#endpoint.timeout);
    let dialing: Promise<void>;
    try {
      dialing = this.#dial(this.#endpoint, (socket, peer, host, attach) => this.#open(attempt, socket, peer, host, attach));
    } catch (error) {
      dialing = Promise.reject(error);
    }
    dialing.catch((error) => this.#failed(attempt, connectError(this.#endpoint, error)));
  }

  /**
   * Waits `ms` and connects again; used by {@link ReconnectingClientFactory}.
   *
   * @param ms Milliseconds to wait.
   */
  retryAfter(ms: number): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.connect();
    }, ms);
  }

  /** Abandons an attempt under way (it fails with `ECANCELED`) and any scheduled retry. */
  stopConnecting(): void {
    const retrying = this.#retryTimer !== undefined;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#state === "connecting") {
      this.#failed(this.#attempt, new ConnectError(`Cannot connect to ${describeClientEndpoint(this.#endpoint)}: stopped connecting`, "ECANCELED"));
    } else if (retrying) {
      this.#settle(new ConnectError(`Cannot connect to ${describeClientEndpoint(this.#endpoint)}: stopped connecting`, "ECANCELED"));
    }
  }

  /** Closes the open connection, or abandons the attempt under way. */
  disconnect(): void {
    if (this.#state === "connected") this.#transport?.loseConnection();
    else this.stopConnecting();
  }

  #open(attempt: number, socket: Socket, peer: Address, host: Address, attach: (c: Connection) => void): Connection {
    const connection = new Connection(socket, peer, host, this.#options);
    attach(connection);
    if (attempt !== this.#attempt || this.#state !== "connecting") {
      // Timed out or stopped while the runtime was still connecting: nobody wants this one.
      connection.connect(new Protocol());
      connection.abortConnection();
      return connection;
    }
    clearTimeout(this.#timer);
    let protocol: Protocol | null;
    try {
      protocol = this.#factory.buildProtocol(peer);
    } catch (error) {
      (this.#options.onError ?? ((e) => console.error(`buildProtocol failed: ${String(e)}`)))(error, peer);
      protocol = null;
    }
    if (protocol === null) {
      connection.connect(new Protocol());
      connection.abortConnection();
      this.#failed(attempt, new ConnectError(`Cannot connect to ${describeClientEndpoint(this.#endpoint)}: the factory built no protocol`, "ECANCELED"));
      return connection;
    }
    this.#state = "connected";
    this.#transport = connection;
    connection.onClose = (c) => {
      this.#transport = undefined;
      this.#state = "disconnected";
      this.#factory.clientConnectionLost?.(this, c.reason!);
      this.#factory.doStop();
    };
    connection.connect(protocol);
    if (!this.#settled) {
      this.#settled = true;
      this.#resolve(protocol);
    }
    return connection;
  }

  #failed(attempt: number, error: ConnectError): void {
    if (attempt !== this.#attempt || this.#state !== "connecting") return;
    clearTimeout(this.#timer);
    this.#state = "disconnected";
    this.#factory.clientConnectionFailed?.(this, error);
    this.#factory.doStop();
    if (this.#state === "disconnected" && this.#retryTimer === undefined) this.#settle(error);
  }

  #settle(error: ConnectError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(error);
  }
}

/** Options of `connect`: the connection's options, besides where to connect. */
export type ConnectOptions = ConnectionOptions;

/** Where to connect: an endpoint string, a parsed endpoint, or a host and port. */
export type ConnectTarget = string | ClientEndpoint | { host: string; port: number; timeout?: number };

/**
 * Reads a connect target into an endpoint description.
 *
 * @param target An endpoint string (`tcp:host=H:port=P`), a parsed endpoint, or `{ host, port, timeout }` (milliseconds).
 * @returns The endpoint.
 * @throws {TypeError} For a malformed string or a target of the wrong shape.
 * @throws {RangeError} For a bad port or timeout.
 */
export function resolveClientEndpoint(target: ConnectTarget): ClientEndpoint {
  if (typeof target === "string") return parseClientEndpoint(target);
  if (target === null || typeof target !== "object") {
    throw new TypeError(`Cannot connect to ${String(target)}: expected an endpoint string or { host, port }`);
  }
  if ("type" in target) return target;
  const { host, port, timeout = DEFAULT_CONNECT_TIMEOUT } = target;
  if (typeof host !== "string" || host === "") throw new TypeError("Cannot connect: host must be a non-empty string");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot connect to port ${port}: must be an integer from 0 to 65535`);
  }
  if (!(timeout > 0)) throw new RangeError(`Cannot connect with timeout ${timeout}: must be above 0 milliseconds`);
  return { type: "tcp", host, port, timeout };
}

/**
 * Connects `factory` through `dial` once, as Twisted's `endpoint.connect(factory)`.
 *
 * @param dial The adapter's dial.
 * @param factory Builds the protocol; a {@link ClientFactory} also hears of failures and losses.
 * @param target Where to connect.
 * @param options The connection's options.
 * @returns The connector; `connector.first` settles with the protocol or the {@link ConnectError}.
 */
export function startConnecting(dial: Dial, factory: Factory, target: ConnectTarget, options: ConnectOptions = {}): Connector {
  const connector = new Connector(factory, resolveClientEndpoint(target), dial, options);
  connector.connect();
  return connector;
}

/**
 * A factory that hands out one given protocol, for `connectProtocol`.
 *
 * @param protocol The protocol to connect.
 * @returns A factory building exactly that protocol.
 */
export function factoryFor<P extends Protocol>(protocol: P): ClientFactory<P> {
  const factory = new ClientFactory<P>();
  factory.buildProtocol = () => {
    protocol.factory = factory as unknown as Factory;
    return protocol;
  };
  return factory;
}
