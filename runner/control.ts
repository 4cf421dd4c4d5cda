/**
 * The control channel between a supervisor and its workers: one TCP connection per worker to
 * 127.0.0.1, carried by twine's own core, one JSON object per line. A worker finds the
 * supervisor in its environment ({@link SUPERVISOR_ENV} = `127.0.0.1:PORT:TOKEN`), says `hello`
 * with its token, and gets its `config`; it then reports `listening` (or `failed`) and, once
 * drained, its `summary`. Either side may send a `request` and gets a `response` with the same
 * `id`. A worker drains when the channel closes: its supervisor is gone.
 *
 * @module
 */
import { type AutoListeningPort, connect, listen } from "../adapters/listen.ts";
import { TextLineReceiver } from "../src/framing/text_line_receiver.ts";
import type { Reason } from "../src/transport/errors.ts";
import { Factory } from "../src/transport/factory.ts";
import { SUPERVISOR_ENV } from "./supervisor_env.ts";

export { SUPERVISOR_ENV } from "./supervisor_env.ts";

/** The longest message, in bytes: room for a metrics snapshot. */
const MAX_MESSAGE = 1 << 20;
/** How long a connection may take to say who it is. */
const HELLO_TIMEOUT_MS = 10_000;

/** One message: a JSON object with a `type`. */
export interface ControlMessage {
  /** `hello`, `config`, `listening`, `failed`, `summary`, `request` or `response`. */
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Answers a request: its result, sent back as `{ type: "response", id, result }`; a throw is sent as `error`. */
export type RequestHandler = (method: string, params: unknown) => unknown;

/**
 * One end of the control channel: JSON lines in and out, requests matched to responses.
 */
export class ControlChannel extends TextLineReceiver {
  override delimiter = "\n";
  override maxLength = MAX_MESSAGE;
  /** Called with each message that is not a request or a response. */
  onMessage: (message: ControlMessage) => void = () => {};
  /** Answers the other side's requests. */
  onRequest: RequestHandler = (method) => {
    throw new Error(`Unknown request '${method}'`);
  };
  /** Settles once the connection has closed, for whatever reason. */
  readonly closed: Promise<Reason>;
  #closedWith!: (reason: Reason) => void;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor() {
    super();
    this.closed = new Promise((resolve) => (this.#closedWith = resolve));
  }

  /**
   * Sends a message.
   *
   * @param message The message.
   */
  send(message: ControlMessage): void {
    this.sendLine(JSON.stringify(message));
  }

  /**
   * Asks the other side something and waits for its answer.
   *
   * @param method What is asked, e.g. `status`.
   * @param params Its parameters.
   * @returns The answer's result.
   * @throws {Error} If the other side answers with an error or the channel closes first (the promise rejects).
   */
  request(method: string, params: unknown = {}): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.transport === undefined || this.transport.disconnecting) {
        reject(new Error(`Cannot ask '${method}': the control channel is closed`));
        return;
      }
      this.#pending.set(id, { resolve, reject });
      this.send({ type: "request", id, method, params });
    });
  }

  /** Closes the channel once what is queued has been sent. */
  close(): void {
    this.transport?.loseConnection();
  }

  override lineReceived(line: string): void {
    let message: ControlMessage;
    try {
      message = JSON.parse(line) as ControlMessage;
    } catch {
      this.transport.abortConnection();
      return;
    }
    if (typeof message !== "object" || message === null || typeof message.type !== "string") {
      this.transport.abortConnection();
      return;
    }
    if (message.type === "request") void this.#answer(message);
    else if (message.type === "response") this.#settle(message);
    else this.onMessage(message);
  }

  override connectionLost(reason: Reason): void {
    for (const { reject } of this.#pending.values()) reject(new Error("Cannot get an answer: the control channel closed"));
    this.#pending.clear();
    this.#closedWith(reason);
  }

  async #answer(message: ControlMessage): Promise<void> {
    try {
      const result = await this.onRequest(String(message.method), message.params);
      this.send({ type: "response", id: message.id, result: result ?? null });
    } catch (error) {
      this.send({ type: "response", id: message.id, error: String((error as Error)?.message ?? error) });
    }
  }

  #settle(message: ControlMessage): void {
    const pending = this.#pending.get(Number(message.id));
    if (pending === undefined) return;
    this.#pending.delete(Number(message.id));
    if (typeof message.error === "string") pending.reject(new Error(message.error));
    else pending.resolve(message.result);
  }
}

/** A channel that must first say `hello` with a token the server knows. */
class AdmissionChannel extends ControlChannel {
  readonly #server: ControlServer;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #admitted = false;

  constructor(server: ControlServer) {
    super();
    this.#server = server;
  }

  override connectionMade(): void {
    this.#timer = setTimeout(() => this.transport.abortConnection(), HELLO_TIMEOUT_MS);
  }

  override lineReceived(line: string): void {
    if (this.#admitted) {
      super.lineReceived(line);
      return;
    }
    clearTimeout(this.#timer);
    let hello: { type?: unknown; token?: unknown } | undefined;
    try {
      hello = JSON.parse(line) as typeof hello;
    } catch {
      // Not even JSON: refused below.
    }
    const admit = hello?.type === "hello" && typeof hello.token === "string" ? this.#server.take(hello.token) : undefined;
    if (admit === undefined) {
      this.transport.abortConnection();
      return;
    }
    this.#admitted = true;
    admit(this, hello as ControlMessage);
  }

  override connectionLost(reason: Reason): void {
    clearTimeout(this.#timer);
    super.connectionLost(reason);
  }
}

/** What {@link ControlServer.admit} returns for one worker. */
export interface Admission {
  /** The value of {@link SUPERVISOR_ENV} for this worker. */
  readonly environment: string;
  /** Settles with the worker's channel and its `hello` once it has connected with its token. */
  readonly joined: Promise<{ channel: ControlChannel; hello: ControlMessage }>;
}

/**
 * The supervisor's end: listens on 127.0.0.1 on a free port and admits each worker that
 * presents the token made for it; a connection with any other first line is closed.
 */
export class ControlServer {
  readonly #tokens = new Map<string, (channel: ControlChannel, hello: ControlMessage) => void>();
  #port: AutoListeningPort | undefined;

  /**
   * Starts listening.
   *
   * @returns The server.
   * @throws {ListenError} If 127.0.0.1 cannot be bound (the promise rejects).
   */
  static async open(): Promise<ControlServer> {
    const server = new ControlServer();
    const factory = new Factory();
    factory.buildProtocol = () => new AdmissionChannel(server);
    server.#port = await listen(factory, { host: "127.0.0.1", port: 0 });
    return server;
  }

  /**
   * Makes a token for one worker.
   *
   * @returns What to put in the worker's environment, and its channel once it joins.
   */
  admit(): Admission {
    const token = randomToken();
    let joined!: (value: { channel: ControlChannel; hello: ControlMessage }) => void;
    const promise = new Promise<{ channel: ControlChannel; hello: ControlMessage }>((resolve) => (joined = resolve));
    this.#tokens.set(token, (channel, hello) => joined({ channel, hello }));
    return { environment: `127.0.0.1:${this.#port!.address.port}:${token}`, joined: promise };
  }

  /**
   * Forgets a token: its worker is gone, and a late connection with it is refused.
   *
   * @param environment What {@link admit} gave for it.
   */
  revoke(environment: string): void {
    this.#tokens.delete(environment.slice(environment.lastIndexOf(":") + 1));
  }

  /** @internal The admission for a token, used once. */
  take(token: string): ((channel: ControlChannel, hello: ControlMessage) => void) | undefined {
    const admit = this.#tokens.get(token);
    this.#tokens.delete(token);
    return admit;
  }

  /**
   * Stops listening and closes every channel at once.
   *
   * @returns A promise that settles once closed.
   */
  async close(): Promise<void> {
    this.#tokens.clear();
    await this.#port?.close({ grace: 0 });
  }
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The worker's end: connects to the supervisor named by `environment`, says `hello` with its
 * token and pid, and waits for its `config`.
 *
 * @param environment The value of {@link SUPERVISOR_ENV}: `127.0.0.1:PORT:TOKEN`.
 * @param pid This process's id.
 * @returns The channel and the `config` message.
 * @throws {Error} If the value is malformed, the supervisor cannot be reached, or it closes before answering.
 */
export async function joinSupervisor(environment: string, pid: number): Promise<{ channel: ControlChannel; config: ControlMessage }> {
  const m = /^([\d.]+):(\d+):([0-9a-f]+)$/.exec(environment);
  if (m === null) throw new Error(`Cannot join the supervisor: ${SUPERVISOR_ENV} is not HOST:PORT:TOKEN`);
  const channel = new ControlChannel();
  const config = new Promise<ControlMessage>((resolve, reject) => {
    channel.onMessage = (message) => {
      if (message.type === "config") resolve(message);
    };
    void channel.closed.then(() => reject(new Error("Cannot join the supervisor: it closed the control channel")));
  });
  const factory = new Factory();
  factory.buildProtocol = () => channel;
  await connect(factory, { host: m[1]!, port: Number(m[2]), timeout: HELLO_TIMEOUT_MS });
  channel.send({ type: "hello", token: m[3]!, pid });
  return { channel, config: await config };
}
