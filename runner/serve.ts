/**
 * `serve()`: runs a factory or a service on a set of endpoints, drains it on SIGINT or SIGTERM
 * within a grace period, prints one start line and one summary, and with `workers` runs it in
 * several processes, as Twisted's `twistd` with nginx's master and workers.
 *
 * @module
 */
import process from "node:process";
import { detectRuntime } from "../adapters/runtime.ts";
import { type App, where } from "./app.ts";
import { granted } from "./deno_permissions.ts";
import { LocalServer } from "./local_server.ts";
import { formatLog, listeningEvent } from "./log.ts";
import { startLine } from "./report.ts";
import { buildService, resolveServeOptions, type Servable, type ServeConfig, type ServeOptions } from "./serve_options.ts";
import { SUPERVISOR_ENV } from "./supervisor_env.ts";

/** Where this process's supervisor listens, if it is a worker; forgotten, so that its own children are not workers. */
function workerEnvironment(): string | undefined {
  if (!granted("env", SUPERVISOR_ENV)) return undefined;
  const value = process.env[SUPERVISOR_ENV];
  if (value !== undefined) delete process.env[SUPERVISOR_ENV];
  return value;
}

function runtimeName(): string {
  const runtime = detectRuntime();
  return `${runtime.name} ${runtime.version}`;
}

async function serveHere(target: Servable, config: ServeConfig): Promise<App> {
  let server: LocalServer | undefined;
  let lost = false;
  const log = formatLog(config.log, config.logFormat);
  const listenOptions = {
    ...config.listenOptions,
    onListenerLost: () => {
      lost = true;
      void server?.lose();
    },
  };
  const root = await buildService(target, { listen: config.listen, listenOptions, workers: 1, worker: undefined }, config.name);
  const reload = async () => (await import("./reload_certificates.ts")).reloadCertificates(root, log);
  const running = new LocalServer(root, { grace: config.grace, log, signals: config.signals, announce: true, worker: 0, onHangup: () => void reload() });
  server = running;
  await running.start();
  if (lost) void running.lose();
  const listeners = root.listeners();
  // Announced once the signal handlers are in: whoever waits for this line may signal at once.
  const runtime = runtimeName();
  log(startLine(root.name!, listeners, runtime), "info", listeningEvent(root.name!, listeners, runtime));
  return {
    service: root,
    ...where(listeners),
    workers: 1,
    worker: undefined,
    stopped: running.stopped,
    get draining() {
      return running.stopping;
    },
    stop: (reason) => running.stop(reason),
    status: async () => [running.status()],
    metrics: async () => root.metrics(),
    reload,
  };
}

async function serveWithWorkers(target: Servable, config: ServeConfig): Promise<App> {
  // Loaded here, not at the top: a single process starts sooner without the supervisor's modules.
  const [{ cannotStartWorkers, supervise }, { claimPorts }, { workerMode }] = await Promise.all([
    import("./supervisor.ts"),
    import("./claim_ports.ts"),
    import("./worker_mode.ts"),
  ]);
  const blocked = cannotStartWorkers();
  if (blocked !== undefined) throw new Error(blocked);
  // Built here too, not started: a mistake in it shows once, from here, rather than once per worker.
  const root = await buildService(target, { listen: config.listen, listenOptions: config.listenOptions, workers: config.workers, worker: undefined }, config.name);
  const listen = await claimPorts(config.listen);
  const files = listen.flatMap((e) => (e.type === "ssl" ? [e.privateKey, e.certKey, ...(e.extraCertChain ? [e.extraCertChain] : [])] : []));
  // With the second name a reload's worker 1 keeps the old socket under while it takes the path over.
  const sockets = listen.flatMap((e) => (e.type === "unix" ? [e.path, `${e.path}.reload`] : []));
  const supervisor = await supervise({
    workers: config.workers,
    grace: config.grace,
    listen,
    log: config.log,
    logFormat: config.logFormat,
    name: root.name!,
    summarize: (counts) => root.summarize(counts),
    signals: config.signals,
    mode: workerMode(detectRuntime()),
    needs: {
      read: [...files, ...sockets, ...config.reads],
      write: sockets,
      net: listen.flatMap((e) => (e.type === "unix" ? [] : [`${e.host.includes(":") ? `[${e.host}]` : e.host}:${e.port}`])),
    },
  });
  return {
    service: root,
    ...where(supervisor.listening?.listeners ?? []),
    workers: config.workers,
    worker: undefined,
    stopped: supervisor.stopped,
    get draining() {
      return supervisor.draining;
    },
    stop: (reason) => supervisor.stop(reason),
    status: () => supervisor.status(),
    metrics: () => supervisor.metrics(),
    reload: () => supervisor.reload(),
  };
}

/**
 * Serves `target` until a signal or `stop()`: listens on every endpoint of `listen`, prints one
 * start line, and on SIGINT or SIGTERM (or `stop()`) lets open connections finish within
 * `grace` seconds, prints one summary and settles `stopped`. A second signal exits at once with
 * status 1. With `workers` (a number, even 1, or `auto` on more than one core) this process
 * becomes a supervisor: it runs the same script again in each worker, which calls `serve()` in
 * turn and listens there, restarts a worker that dies, and on SIGHUP (or `reload()`) replaces
 * every worker by a new one. Without workers SIGHUP reloads the certificates of `ssl:` listeners.
 *
 * @param target A factory, served on every `listen` endpoint; a `Service`; or a function that builds one from where to listen.
 * @param options Endpoints, limits, grace period, workers, signals and where lines go.
 * @returns The running app.
 * @throws {TypeError} For an option of the wrong type, a malformed endpoint, or a target that cannot be served (the promise rejects).
 * @throws {RangeError} For an option out of range (the promise rejects).
 * @throws {ListenError} If an endpoint cannot be bound, or (with workers) something else listens there (the promise rejects).
 * @throws {Error} If workers cannot be started, or the first exits before listening (the promise rejects).
 * @example
 * ```ts
 * import { serve } from "./serve.ts";
 * import { EchoFactory } from "../src/mod.ts";
 * const app = await serve(new EchoFactory(), { listen: ["tcp:0"], signals: false, log: false });
 * console.log(app.ports[0]);
 * const summary = await app.stop();
 * console.log(summary.line); // "Stopped: served 0 connections"
 * ```
 */
export async function serve(target: Servable, options: ServeOptions = {}): Promise<App> {
  const config = await resolveServeOptions(options);
  const environment = workerEnvironment();
  if (environment !== undefined) return await (await import("./worker.ts")).serveAsWorker(target, config, environment);
  const start = () => config.supervise ? serveWithWorkers(target, config) : serveHere(target, config);
  if (config.metrics === undefined) return await start();
  // The metrics are served by the process that sees the whole server: this one, whether it serves or supervises.
  return await (await import("./metrics_service.ts")).withMetricsEndpoint(config, start);
}
