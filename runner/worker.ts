/**
 * `serve()` in a worker: joins the supervisor over the control channel, serves the endpoints it
 * is given with `reusePort` (or through `node:cluster`), reports where it listens and, once
 * drained, what it served; drains when its supervisor goes away, and exits.
 *
 * @module
 */
import { linkSync, lstatSync, renameSync, unlinkSync } from "node:fs";
import process from "node:process";
import { detectRuntime } from "../adapters/runtime.ts";
import { parseServerEndpoint } from "../src/endpoints/endpoints.ts";
import { type App, where } from "./app.ts";
import { type ControlChannel, joinSupervisor } from "./control.ts";
import { LocalServer } from "./local_server.ts";
import { coreLog, formatLog, serveEvent } from "./log.ts";
import { buildService, type Servable, type ServeConfig } from "./serve_options.ts";
import { STOP_MESSAGE } from "./supervisor.ts";
import { workerMode } from "./worker_mode.ts";

// The channel closes when the process exits anyway; this only bounds waiting for the supervisor to read it.
const FLUSH_MS = 2000;

async function exit(channel: ControlChannel, code: number): Promise<never> {
  channel.close();
  await Promise.race([channel.closed, new Promise((r) => setTimeout(r, FLUSH_MS))]);
  process.exit(code);
}

/**
 * Moves the Unix socket files a previous generation's worker 1 listens on out of the way, each
 * kept under a second name (a hard link to the same socket) until this worker listens: then the
 * second names go; if it cannot start, they are put back, so that the old worker stays reachable.
 */
function takeOverUnixPaths(paths: readonly string[]): { restore(): void; commit(): void } {
  const moved: [path: string, kept: string][] = [];
  for (const path of paths) {
    const kept = `${path}.reload`;
    try {
      if (!lstatSync(path).isSocket()) continue;
      try {
        unlinkSync(kept);
      } catch {
        // No leftover from an earlier reload.
      }
      linkSync(path, kept);
      unlinkSync(path);
      moved.push([path, kept]);
    } catch {
      // Nothing there, or not ours to move: listening says what is wrong, if anything is.
    }
  }
  const each = (f: (path: string, kept: string) => void) => {
    for (const [path, kept] of moved) {
      try {
        f(path, kept);
      } catch {
        // Best effort: the old socket may be gone with its worker.
      }
    }
  };
  return {
    restore: () => each((path, kept) => renameSync(kept, path)),
    commit: () => each((_, kept) => unlinkSync(kept)),
  };
}

function oneLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0]!;
}

/**
 * Serves `target` as one worker of a supervisor.
 *
 * @param target What to serve.
 * @param config The options, checked.
 * @param environment Where the supervisor listens, from its environment variable.
 * @returns The app; the process exits once it has stopped and said so.
 */
export async function serveAsWorker(target: Servable, config: ServeConfig, environment: string): Promise<App> {
  const runtime = detectRuntime();
  const cluster = workerMode(runtime) === "cluster";
  let joined: Awaited<ReturnType<typeof joinSupervisor>>;
  try {
    joined = await joinSupervisor(environment, process.pid);
  } catch (error) {
    formatLog(config.log, config.logFormat)(oneLine(error), "error", serveEvent("join_failed", "error", { error: oneLine(error) }));
    process.exit(1);
  }
  const { channel, config: given } = joined;
  const slot = Number(given.worker);
  const log = formatLog(config.log, config.logFormat, slot);
  let lost = false;
  let server: LocalServer | undefined;
  const context = {
    listen: (given.listen as string[]).map(parseServerEndpoint),
    // A cluster worker's listen goes to the primary, which holds the one socket: reusePort is not needed there.
    listenOptions: {
      ...config.listenOptions,
      reusePort: !cluster,
      log: coreLog(log),
      onListenerLost: () => {
        lost = true;
        void server?.lose();
      },
    },
    workers: config.workers,
    worker: slot,
  };
  let takeOver: ReturnType<typeof takeOverUnixPaths> | undefined;
  try {
    const root = await buildService(target, context, config.name);
    // Signals always: its supervisor stops it with one, whether or not the program lets the supervisor have them.
    server = new LocalServer(root, { grace: config.grace, log, signals: true, announce: false, worker: slot, clusterWorker: cluster });
    // As late as possible: between here and the bind, a client of the Unix socket finds no file.
    if (given.takeOver === true) takeOver = takeOverUnixPaths(context.listen.flatMap((e) => (e.type === "unix" ? [e.path] : [])));
    await server.start();
    takeOver?.commit();
  } catch (error) {
    takeOver?.restore();
    channel.send({ type: "failed", message: oneLine(error) });
    return await exit(channel, 1);
  }
  const running = server;
  if (lost) void running.lose();
  channel.onRequest = (method) => {
    if (method === "status") return running.status();
    if (method === "metrics") return running.root.metrics();
    throw new Error(`Unknown request '${method}'`);
  };
  if (cluster) {
    process.on("message", (message: unknown) => {
      const signal = (message as Record<string, unknown> | null)?.[STOP_MESSAGE];
      if (typeof signal === "string") running.request(signal, "message");
    });
  }
  // A worker whose supervisor died is adopted by another process: drain and go rather than linger.
  void channel.closed.then(() => {
    if (!running.stopping) void running.stop("supervisor exit");
  });
  void running.stopped.then((summary) => {
    channel.send({ type: "summary", counts: summary.counts, metrics: running.root.metrics() });
    void exit(channel, summary.code);
  });
  const listeners = running.root.listeners();
  channel.send({ type: "listening", listeners, runtime: `${runtime.name} ${runtime.version}` });
  return {
    service: running.root,
    ...where(listeners),
    workers: config.workers,
    worker: slot,
    stopped: running.stopped,
    get draining() {
      return running.stopping;
    },
    stop: (reason) => running.stop(reason),
    status: async () => [running.status()],
    metrics: async () => running.root.metrics(),
    reload: async () => ({ ok: false, line: "A worker does not reload: its supervisor does, on SIGHUP" }),
  };
}
