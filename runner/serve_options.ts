/**
 * The options of `serve()`, checked once, and the service they and a target make.
 *
 * @module
 */
import type { AutoListenOptions } from "../adapters/listen.ts";
import type { AdapterChoice } from "../adapters/runtime.ts";
import { formatServerEndpoint, parseServerEndpoint, type ServerEndpoint } from "../src/endpoints/endpoints.ts";
import type { Factory } from "../src/transport/factory.ts";
import { resolveListenOptions } from "../src/transport/listen_options.ts";
import { StreamServerEndpointService } from "./endpoint_service.ts";
import { coreLog, formatLog } from "./log.ts";
import type { LogFormat } from "./log_format.ts";
import { consoleLog, type ServeLog } from "./report.ts";
import { MultiService, type Service } from "./service.ts";

/** Options of `serve()`. */
export interface ServeOptions {
  /**
   * Where to listen: endpoint strings (`tcp:8000`, `ssl:8443:privateKey=key.pem:certKey=cert.pem`,
   * `unix:/tmp/s.sock`, any behind `haproxy:`) or their parsed descriptions.
   * @default ["tcp:8000"]
   */
  listen?: readonly (string | ServerEndpoint)[];
  /**
   * `native` for the runtime's own API, `node` for its `node:net`.
   * @default "native"
   */
  adapter?: AdapterChoice;
  /**
   * On SIGINT, SIGTERM or `stop()`, how long open connections may go on, in seconds.
   * @default 5
   */
  grace?: number;
  /**
   * Connections served at once, per process; past it, new ones are closed at once.
   * @default Infinity
   */
  maxConnections?: number;
  /**
   * Close a connection with no traffic either way for this long, in milliseconds (as `listen`).
   * @default no timeout
   */
  idleTimeout?: number;
  /**
   * Queued output, in bytes, above which a peer is no longer read.
   * @default 131072
   */
  highWaterMark?: number;
  /**
   * Queued output, in bytes, at or below which reading resumes.
   * @default 32768
   */
  lowWaterMark?: number;
  /**
   * Read a PROXY protocol header first on every endpoint, as `haproxy:` does on one.
   * @default false
   */
  proxyProtocol?: boolean;
  /**
   * Processes that serve: `auto` for one per core. Given (1 included; `auto` on more than one
   * core), the process that calls `serve()` supervises workers that run the same script with the
   * same arguments, and SIGHUP replaces them; left out, it serves itself.
   * @default 1 (no supervisor)
   */
  workers?: number | "auto";
  /**
   * Whether SIGINT and SIGTERM drain the server (a second one exits at once with status 1), and
   * SIGHUP reloads it (`App.reload()`).
   * @default true
   */
  signals?: boolean;
  /**
   * Where the runner's lines go, or `false` for nowhere.
   * @default consoleLog: the start line and the summary to stdout, the rest to stderr
   */
  log?: ServeLog | false;
  /**
   * The form of every line: `human`, as the line reads, or `json`, one JSON object per line
   * (`time`, `level`, `event`, `endpoint`, `peer`, `worker`, `message` and the event's fields),
   * given to `log` as the line.
   * @default "human"
   */
  logFormat?: LogFormat;
  /**
   * Where to answer `GET /metrics` (the Prometheus text format, summed over workers) and
   * `GET /healthz` (200 while it accepts, 503 while it drains): a stream endpoint, e.g.
   * `tcp:9464`. With workers the supervisor serves it.
   * @default none
   */
  metrics?: string | ServerEndpoint;
  /**
   * What listens, as the start line names it.
   * @default the service's name, else "Server"
   */
  name?: string;
  /**
   * Files the program reads besides the certificates its endpoints name (a module it loads):
   * a Deno worker gets read access to them when its supervisor has it for only some paths.
   * @default []
   */
  reads?: readonly string[];
}

/** What a service builder gets to build the service for this process. */
export interface ServiceContext {
  /** Where this process listens: `listen`, with the ports a supervisor picked; a worker other than 1 has no `unix:`. */
  readonly listen: readonly ServerEndpoint[];
  /** The listen options of every endpoint: adapter, limits, watermarks, `reusePort` in a worker. */
  readonly listenOptions: AutoListenOptions;
  /** How many processes serve. */
  readonly workers: number;
  /** This worker's number, from 1; undefined without workers. */
  readonly worker: number | undefined;
}

/** Builds the service one process runs; called in the supervisor too (not started there), to check it early. */
export type ServiceBuilder = (context: ServiceContext) => Service | Promise<Service>;

/** What `serve()` runs: a factory for every `listen` endpoint, a service, or a function that builds one. */
export type Servable = Factory | Service | ServiceBuilder;

/** The options, checked and with their defaults. */
export interface ServeConfig {
  readonly listen: readonly ServerEndpoint[];
  readonly grace: number;
  readonly workers: number;
  /** Whether this process supervises workers: `workers` given as a number (1 included), or `auto` on more than one core. */
  readonly supervise: boolean;
  readonly signals: boolean;
  /** Where lines go, unformatted: each process formats them with {@link formatLog}. */
  readonly log: ServeLog;
  readonly logFormat: LogFormat;
  readonly metrics: ServerEndpoint | undefined;
  readonly name: string | undefined;
  readonly reads: readonly string[];
  readonly listenOptions: AutoListenOptions;
}

/**
 * Checks the options of `serve()`.
 *
 * @param options The options.
 * @returns Them, checked and with defaults (a promise: `workers: "auto"` loads `node:os`).
 * @throws {TypeError} For a value of the wrong type or a malformed endpoint.
 * @throws {RangeError} For a value out of range.
 */
export async function resolveServeOptions(options: ServeOptions): Promise<ServeConfig> {
  if (typeof options !== "object" || options === null) throw new TypeError("Cannot serve: options must be an object");
  const listen = options.listen ?? ["tcp:8000"];
  if (!Array.isArray(listen)) throw new TypeError("Cannot serve: listen must be an array of endpoints");
  const endpoints = listen.map((e: unknown) => {
    if (typeof e === "string") return parseServerEndpoint(e);
    if (typeof e === "object" && e !== null && typeof (e as { type?: unknown }).type === "string") return e as ServerEndpoint;
    throw new TypeError(`Cannot serve on ${String(e)}: not an endpoint string`);
  });
  const grace = options.grace ?? 5;
  if (typeof grace !== "number") throw new TypeError(`Cannot serve with grace ${String(grace)}: not a number of seconds`);
  if (!(grace >= 0 && Number.isFinite(grace))) throw new RangeError(`Cannot serve with grace ${grace}: must be a number of seconds of at least 0`);
  const workers = options.workers ?? 1;
  if (workers !== "auto" && !(typeof workers === "number" && Number.isInteger(workers) && workers >= 1)) {
    const wrong = typeof workers === "number" ? RangeError : TypeError;
    throw new wrong(`Cannot serve with workers ${String(workers)}: must be an integer of at least 1, or "auto"`);
  }
  if (options.adapter !== undefined && options.adapter !== "native" && options.adapter !== "node") {
    throw new TypeError(`Cannot serve with adapter '${String(options.adapter)}': expected native or node`);
  }
  if (options.signals !== undefined && typeof options.signals !== "boolean") {
    throw new TypeError(`Cannot serve with signals ${String(options.signals)}: must be true or false`);
  }
  if (options.log !== undefined && options.log !== false && typeof options.log !== "function") {
    throw new TypeError("Cannot serve: log must be a function or false");
  }
  const log: ServeLog = options.log === false ? () => {} : options.log ?? consoleLog;
  const logFormat = options.logFormat ?? "human";
  if (logFormat !== "human" && logFormat !== "json") {
    throw new TypeError(`Cannot serve with logFormat '${String(logFormat)}': expected human or json`);
  }
  const metrics = options.metrics === undefined ? undefined : metricsEndpoint(options.metrics);
  const listenOptions: AutoListenOptions = {
    adapter: options.adapter,
    maxConnections: options.maxConnections,
    idleTimeout: options.idleTimeout,
    highWaterMark: options.highWaterMark,
    lowWaterMark: options.lowWaterMark,
    proxyProtocol: options.proxyProtocol,
    log: coreLog(formatLog(log, logFormat)),
  };
  // The core's own checks of the limits, now rather than when the first endpoint listens.
  resolveListenOptions({ ...listenOptions, port: 0 });
  // Loaded for auto alone: node:os costs Bun's start about half a millisecond.
  const cores = workers === "auto" ? (await import("node:os")).availableParallelism() : 0;
  return {
    listen: endpoints,
    grace,
    workers: workers === "auto" ? cores : workers,
    // As nginx's master and one worker: an explicit 1 supervises too, so that SIGHUP can replace the worker.
    supervise: options.workers === "auto" ? cores > 1 : options.workers !== undefined,
    signals: options.signals ?? true,
    log,
    logFormat,
    metrics,
    name: options.name,
    reads: options.reads ?? [],
    listenOptions,
  };
}

function metricsEndpoint(value: unknown): ServerEndpoint {
  let endpoint: ServerEndpoint;
  if (typeof value === "string") endpoint = parseServerEndpoint(value);
  else if (typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string") endpoint = value as ServerEndpoint;
  else throw new TypeError(`Cannot serve metrics on ${String(value)}: not an endpoint string`);
  if (endpoint.type === "udp") throw new TypeError(`Cannot serve metrics on '${formatServerEndpoint(endpoint)}': HTTP needs a stream endpoint, not udp:`);
  return endpoint;
}

function isFactory(target: unknown): target is Factory {
  return typeof (target as Factory | undefined)?.buildProtocol === "function";
}

function isService(target: unknown): target is Service {
  const s = target as Service | undefined;
  return typeof s?.startService === "function" && typeof s?.stopService === "function";
}

/**
 * Builds the service one process runs.
 *
 * @param target A factory (served on every endpoint of `context.listen`), a service, or a builder.
 * @param context Where to listen, with which options.
 * @param name The name for the start line, if the options gave one.
 * @returns The root service, named, not started.
 * @throws {TypeError} For a target that is none of these, or a factory with a `udp:` endpoint.
 */
export async function buildService(target: Servable, context: ServiceContext, name: string | undefined): Promise<Service> {
  let root: Service;
  if (isFactory(target)) {
    root = new MultiService(context.listen.map((e) => new StreamServerEndpointService(e, target, context.listenOptions)));
  } else if (isService(target)) {
    root = target;
  } else if (typeof target === "function") {
    const built: unknown = await target(context);
    if (!isService(built)) throw new TypeError("Cannot serve: the service builder did not return a Service");
    root = built;
  } else {
    throw new TypeError("Cannot serve: expected a Factory, a Service or a function that builds a Service");
  }
  root.name = name ?? root.name ?? "Server";
  return root;
}

/**
 * Walks a service tree, parents before their children.
 *
 * @param service The root.
 * @returns Every service in it.
 */
export function* walk(service: Service): Generator<Service> {
  yield service;
  if (service instanceof MultiService) for (const child of service.services) yield* walk(child);
}

/**
 * Counts the connections open now on every stream endpoint of a service tree.
 *
 * @param root The root.
 * @returns How many.
 */
export function openConnections(root: Service): number {
  let open = 0;
  for (const s of walk(root)) if (s instanceof StreamServerEndpointService) open += s.port?.connections ?? 0;
  return open;
}
