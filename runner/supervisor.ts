/**
 * Runs N workers of the program that calls it: each re-runs the same script on the same runtime
 * with the same arguments, with {@link SUPERVISOR_ENV} set, so that its `serve()` listens (with
 * `SO_REUSEPORT`, or through `node:cluster` on a Node that ignores it) and reports over the
 * control channel. Restarts a worker that dies, with back-off, gives up on one that keeps dying
 * at start, forwards SIGINT and SIGTERM, replaces every worker by a new generation on SIGHUP
 * (draining the old one only once the new one listens), and sums what the workers served into one line.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { detectRuntime } from "../adapters/runtime.ts";
import { formatServerEndpoint, type ServerEndpoint } from "../src/endpoints/endpoints.ts";
import type { ReloadResult } from "./app.ts";
import { type ControlChannel, type ControlMessage, ControlServer, SUPERVISOR_ENV } from "./control.ts";
import { granted, type WorkerNeeds, workerPermissionFlags } from "./deno_permissions.ts";
import { formatLog, forwardWorkerLine, listeningEvent, messageOf, serveEvent, stoppedEvent } from "./log.ts";
import type { LogFormat } from "./log_format.ts";
import type { EndpointMetrics } from "./metrics/endpoint_metrics.ts";
import { WorkerMetrics } from "./metrics/worker_metrics.ts";
import { type LogLevel, type ProcessStatus, type ServeLog, startLine, stoppedLine, type Summary } from "./report.ts";
import { addCounts, type Counts, type Listener, plural } from "./service.ts";
import type { WorkerMode } from "./worker_mode.ts";
import { SignalEchoes } from "./signal_echoes.ts";

/** What {@link supervise} needs. */
export interface SupervisorOptions {
  /** How many workers. */
  readonly workers: number;
  /** Seconds the workers may take to drain on SIGINT or SIGTERM. */
  readonly grace: number;
  /** The endpoints, with the ports they are to share picked already; a Unix socket is served by worker 1 only. */
  readonly listen: readonly ServerEndpoint[];
  /** Where lines go. */
  readonly log: ServeLog;
  /**
   * The form of the lines; with `json` the workers' own JSON lines are passed on as they are.
   * @default "human"
   */
  readonly logFormat?: LogFormat;
  /** What listens, for the start line. */
  readonly name: string;
  /** What the summary says was served, from the counts summed over workers. */
  readonly summarize: (counts: Counts) => string;
  /**
   * Whether SIGINT and SIGTERM drain the workers, and a second one stops everything at once; and
   * whether SIGHUP reloads.
   * @default true
   */
  readonly signals?: boolean;
  /**
   * How the workers share a port, as `workerMode()` decides it.
   * @default "reuse-port"
   */
  readonly mode?: WorkerMode;
  /** Files and hosts a Deno worker needs permission for when its supervisor has it for only some. */
  readonly needs?: Partial<WorkerNeeds>;
}

/** What one worker reported once listening. */
export interface WorkerListening {
  /** Where it listens. */
  readonly listeners: readonly Listener[];
  /** Its runtime's name and version. */
  readonly runtime: string;
}

/** A running supervisor. */
export interface Supervisor {
  /** What worker 1 reported once listening; undefined if a signal came before every worker had started. */
  readonly listening: WorkerListening | undefined;
  /** Settles once every worker has stopped, with the summary summed over them. */
  readonly stopped: Promise<Summary>;
  /** Whether it is stopping its workers, or has. */
  readonly draining: boolean;
  /**
   * Drains every worker, as SIGTERM does.
   *
   * @param reason What the summary line names.
   * @returns The summary.
   */
  stop(reason?: string): Promise<Summary>;
  /** @returns What each worker running now says about itself. */
  status(): Promise<ProcessStatus[]>;
  /** @returns Every endpoint's snapshot summed over the workers, those that have exited included. */
  metrics(): Promise<EndpointMetrics[]>;
  /**
   * Starts a new generation of workers and, once every one of them listens, drains the old one,
   * as SIGHUP does. A new worker that exits before listening stops the reload: the new
   * generation is killed and the old one keeps serving.
   *
   * @returns The outcome, once the old generation has drained or the reload failed; it never rejects.
   */
  reload(): Promise<ReloadResult>;
}

/** The message a cluster worker gets instead of a forwarded signal (see serve.ts). */
export const STOP_MESSAGE = "twine:stop";

// A worker that dies before listening this many times in a row is not going to start.
const MAX_START_FAILURES = 5;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
// A worker that ran this long has started well: its next death starts the back-off afresh.
const HEALTHY_MS = 10_000;
// A worker's control channel closes when it exits; its last message is read by then.
const CHANNEL_CLOSE_MS = 2000;

/** Where Linux says whether a connection queued on a closing `SO_REUSEPORT` listener moves to another one. */
const MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req";

interface Worker {
  readonly slot: number;
  /** Its generation: 1 at start, one more at each reload. */
  readonly generation: number;
  readonly child: ChildProcess;
  readonly startedAt: number;
  listening: boolean;
  channel: ControlChannel | undefined;
  /** Its summary's counts, once it drained. */
  counts: Counts | undefined;
  /** Why it could not start, as it said. */
  failure: string | undefined;
  /** Asked to drain (or killed) already: a second signal would stop it at once. */
  signaled: boolean;
  /** Replaced by a reload, or of a generation that failed to start: its exit is expected, never restarted. */
  retired: boolean;
  /** Settles once it has exited and its last message has been read. */
  readonly gone: Promise<void>;
}

/** The command that runs this script again on the same runtime, with the flags a worker needs. */
function workerCommand(needs: WorkerNeeds): string[] {
  const script = process.argv[1]!;
  switch (detectRuntime().name) {
    case "deno": {
      const main = (globalThis as { Deno?: { mainModule: string } }).Deno!.mainModule;
      // Deno.listen's reusePort is behind --unstable-net (Deno 2.9).
      return [process.execPath, "run", ...workerPermissionFlags(needs), "--no-prompt", "--unstable-net", main];
    }
    default:
      return [process.execPath, ...process.execArgv, script];
  }
}

/**
 * Starts the workers and supervises them.
 *
 * @param options Worker count, endpoints, grace period and where lines go.
 * @returns The supervisor, once every worker listens (or a signal stopped the start).
 * @throws {Error} If workers cannot be started, or worker 1 exits before listening (the promise rejects; the others are killed).
 */
export async function supervise(options: SupervisorOptions): Promise<Supervisor> {
  const format = options.logFormat ?? "human";
  const log = formatLog(options.log, format);
  // Every worker that ever ran counts, in every generation: a restart is no counter reset.
  const metrics = new WorkerMetrics<Worker>();
  const error = (line: string, event: string, fields: Parameters<typeof serveEvent>[2], slot?: number) =>
    log(line, "error", serveEvent(event, "error", fields, slot));
  const control = await ControlServer.open();
  const cluster = options.mode === "cluster" ? (await import("node:cluster")).default : undefined;
  const needs: WorkerNeeds = {
    read: options.needs?.read ?? [],
    write: options.needs?.write ?? [],
    net: [...(options.needs?.net ?? []), "127.0.0.1"],
    env: [SUPERVISOR_ENV],
  };
  const command = workerCommand(needs);
  const args = process.argv.slice(2);
  // The generation serving now, by slot; a reload fills another map and swaps it in once all of it listens.
  let workers = new Map<number, Worker>();
  let generation = 1;
  // Every worker process not yet exited, of any generation: the supervisor stops once this is empty.
  const live = new Set<Worker>();
  // Every worker that ever ran: the summary counts those that drained after a restart or a reload too.
  const ever: Worker[] = [];
  const failures = new Map<number, number>();
  let stopping: string | undefined;
  let started = false;
  let gaveUp = false;
  let report: WorkerListening | undefined;
  let finished!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finished = resolve));
  let failStart!: (error: Error) => void;
  const startFailed = new Promise<never>((_, reject) => (failStart = reject));
  // Worker 1 serves the Unix sockets: a path cannot be shared with SO_REUSEPORT.
  const listenFor = (slot: number) => options.listen.filter((e) => slot === 1 || e.type !== "unix").map(formatServerEndpoint);
  // A reload under way: the new generation's failure ends it.
  let reloading: { generation: number; fail: (line: string, fields: Parameters<typeof serveEvent>[2]) => void } | undefined;
  let migrateNoticed = false;

  const signal = (w: Worker, how: NodeJS.Signals) => {
    if (how !== "SIGKILL" && w.signaled) return;
    w.signaled = true;
    try {
      // A cluster worker shares the terminal's process group and may have had this signal already: a message
      // stops it only if it is not stopping, where a second signal would kill it.
      if (cluster !== undefined && how !== "SIGKILL" && w.child.connected) {
        w.child.send({ [STOP_MESSAGE]: how });
        return;
      }
      // process.kill, not child.kill: Deno's child.kill had not reached the worker when the supervisor exited at once.
      if (w.child.pid !== undefined) process.kill(w.child.pid, how);
    } catch {
      // Already gone.
    }
  };
  // A worker draining already (an old generation's, after a reload) is left to finish within its grace.
  const stopAll = (how: NodeJS.Signals) => {
    for (const w of live) signal(w, how);
  };
  const settle = () => {
    if (stopping !== undefined && live.size === 0) finished(gaveUp ? 1 : 0);
  };

  const start = (slot: number, into: Map<number, Worker>, gen: number): Promise<void> => {
    // A signal while the first worker was starting: the rest must not start after the "Stopping" line.
    if (stopping !== undefined) return Promise.resolve();
    const admission = control.admit();
    const env = { ...process.env, [SUPERVISOR_ENV]: admission.environment };
    const cannot = (e: unknown) => {
      const line = `Cannot start workers: ${cannotSpawn(e)}`;
      if (gen > generation) reloading?.fail(`Reload failed: ${line}; still serving with the old workers`, { error: cannotSpawn(e) });
      else failStart(new Error(line));
    };
    let child: ChildProcess;
    try {
      if (cluster !== undefined) {
        // silent: the worker's stdout and stderr are pipes, read below as a spawned worker's are.
        cluster.setupPrimary({ exec: process.argv[1]!, args, silent: true });
        child = cluster.fork(env).process;
      } else {
        // Own process group: a terminal's Ctrl-C reaches only the supervisor, which forwards it once.
        child = spawn(command[0]!, [...command.slice(1), ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true, env });
      }
    } catch (e) {
      cannot(e);
      return Promise.resolve();
    }
    let gone!: () => void;
    const worker: Worker = {
      gone: new Promise((resolve) => (gone = resolve)),
      slot,
      generation: gen,
      child,
      startedAt: Date.now(),
      listening: false,
      channel: undefined,
      counts: undefined,
      failure: undefined,
      signaled: false,
      retired: false,
    };
    into.set(slot, worker);
    live.add(worker);
    ever.push(worker);
    return new Promise((resolve) => {
      let errors = "";
      void admission.joined.then(({ channel }) => {
        worker.channel = channel;
        metrics.join(worker, async () => (await channel.request("metrics")) as EndpointMetrics[]);
        channel.onMessage = (message: ControlMessage) => {
          if (message.type === "listening" && !worker.listening) {
            worker.listening = true;
            flush();
            report ??= { listeners: message.listeners as Listener[], runtime: String(message.runtime) };
            // Once stopping, the worker is being stopped already: "started" would only confuse.
            if (stopping === undefined && !worker.retired) {
              log(`Worker ${slot} started (pid ${child.pid})`, "info", serveEvent("worker_started", "info", { pid: child.pid, generation: gen }, slot));
            }
            resolve();
          } else if (message.type === "failed") {
            worker.failure = String(message.message);
          } else if (message.type === "summary") {
            worker.counts = message.counts as Counts;
            metrics.retire(worker, message.metrics as EndpointMetrics[] | undefined);
          }
        };
        // A later generation's worker 1 takes the Unix socket paths over from the one it replaces.
        channel.send({ type: "config", worker: slot, listen: listenFor(slot), takeOver: gen > 1 });
      });
      // Until it listens a worker's lines are held: if it cannot start, its first error is the one line said.
      let held: [string, LogLevel][] | undefined = [];
      const say = (line: string, level: LogLevel) => forwardWorkerLine(options.log, format, slot, child.pid, line, level);
      const flush = () => {
        for (const [line, level] of held ?? []) say(line, level);
        held = undefined;
      };
      const forward = (level: LogLevel) => (line: string) => {
        if (level === "notice") errors ||= messageOf(line).replace(/^[\w.-]+: (?=[A-Z])/, "");
        if (held !== undefined) held.push([line, level]);
        else say(line, level);
      };
      lines(child.stdout!, forward("info"));
      lines(child.stderr!, forward("notice"));
      child.on("error", cannot);
      // "close", not "exit": the worker's last output has been read by then; its channel's last message too, below.
      child.on("close", async (code, exitSignal) => {
        if (worker.channel !== undefined) {
          await Promise.race([worker.channel.closed, new Promise((r) => setTimeout(r, CHANNEL_CLOSE_MS))]);
        }
        control.revoke(admission.environment);
        metrics.retire(worker);
        live.delete(worker);
        if (into.get(slot) === worker) into.delete(slot);
        resolve();
        gone();
        const how = exitSignal !== null ? exitSignal : `status ${code}`;
        if (worker.retired || stopping !== undefined) {
          if (worker.listening) flush();
          settle();
          return;
        }
        if (gen > generation) {
          // A worker of the generation a reload is starting: the reload stops, the old generation serves on.
          const why = worker.failure ?? errors;
          reloading?.fail(
            `Reload failed: worker ${slot} exited (${how}) ${worker.listening ? "after" : "before"} listening${why ? `: ${why}` : ""}; still serving with the old workers`,
            { pid: child.pid, ...exit(code, exitSignal), error: why || undefined },
          );
          return;
        }
        if (started) flush();
        if (!started) {
          // The first start failing is a configuration problem (a bad certificate, a bad flag): say it once and stop.
          const why = worker.failure ?? errors;
          failStart(new Error(`Worker ${slot} exited (${how}) before listening${why ? `: ${why}` : ""}`));
          return;
        }
        const ranWell = worker.listening && Date.now() - worker.startedAt >= HEALTHY_MS;
        const count = ranWell ? 1 : (failures.get(slot) ?? 0) + 1;
        failures.set(slot, count);
        if (count > MAX_START_FAILURES) {
          error(`Worker ${slot} keeps dying (${count} times in a row, last ${how}); giving up`, "worker_gave_up", { times: count, ...exit(code, exitSignal) }, slot);
          gaveUp = true;
          stopping = "SIGTERM";
          stopAll("SIGTERM");
          settle();
          return;
        }
        const delay = Math.min(FIRST_BACKOFF_MS * 2 ** (count - 1), MAX_BACKOFF_MS);
        log(
          `Worker ${slot} (pid ${child.pid}) exited (${how}); restarting in ${delay / 1000} s`,
          "notice",
          serveEvent("worker_exited", "warn", { pid: child.pid, ...exit(code, exitSignal), restartIn: delay / 1000 }, slot),
        );
        setTimeout(() => {
          // A reload in the meantime has put a new generation's worker in this slot.
          if (stopping === undefined && generation === gen && !workers.has(slot)) void start(slot, workers, gen);
        }, delay);
      });
    });
  };

  const stop = (reason: string, how: NodeJS.Signals) => {
    stopping = reason;
    stopAll(how);
    settle();
  };
  const echoes = new SignalEchoes();
  const onSignal = (sig: NodeJS.Signals) => {
    if (echoes.echo(sig)) return;
    if (stopping !== undefined) {
      error(`${sig} again, exiting now`, "stop_forced", { signal: sig });
      stopAll("SIGKILL");
      process.exit(1);
    }
    log(
      `Stopping on ${sig}: ${plural(live.size, "worker")} draining for up to ${options.grace} s (${sig} again stops at once)`,
      "notice",
      serveEvent("stopping", "info", { signal: sig, workers: live.size, grace: options.grace }),
    );
    stop(sig, sig);
  };

  const reload = async (): Promise<ReloadResult> => {
    const ignored = (why: string): ReloadResult => {
      const line = `Reload ignored: ${why}`;
      log(line, "notice", serveEvent("reload_ignored", "warn", { reason: why }));
      return { ok: false, line };
    };
    if (stopping !== undefined) return ignored("stopping");
    if (!started) return ignored("still starting");
    if (reloading !== undefined) return ignored("a reload is under way");
    const count = options.workers;
    const gen = generation + 1;
    log(`Reloading: starting ${plural(count, "new worker")}`, "notice", serveEvent("reload_started", "info", { workers: count, generation: gen }));
    if (cluster === undefined && !migrateNoticed && options.listen.some((e) => e.type !== "unix")) {
      migrateNoticed = true;
      if (readMigrateReq() === "0") {
        log(
          "net.ipv4.tcp_migrate_req is 0: connections queued on old workers at reload may be reset; set it to 1 (sysctl -w net.ipv4.tcp_migrate_req=1)",
          "notice",
          serveEvent("tcp_migrate_req", "warn", { value: 0 }),
        );
      }
    }
    const next = new Map<number, Worker>();
    let failed!: (result: ReloadResult) => void;
    const failure = new Promise<ReloadResult>((resolve) => (failed = resolve));
    reloading = {
      generation: gen,
      fail: (line, fields) => {
        if (reloading?.generation !== gen) return;
        reloading = undefined;
        for (const w of next.values()) {
          w.retired = true;
          signal(w, "SIGKILL");
        }
        error(line, "reload_failed", fields);
        failed({ ok: false, line });
      },
    };
    const listening = Promise.all(Array.from({ length: count }, (_, i) => start(i + 1, next, gen))).then(() => undefined);
    const outcome = await Promise.race([listening, failure]);
    if (outcome !== undefined) return outcome;
    if (stopping !== undefined || reloading?.generation !== gen) {
      // A signal came while the new generation started: stopAll has it draining with the rest.
      reloading = undefined;
      return { ok: false, line: "Reload abandoned: stopping" };
    }
    const old = [...workers.values()];
    for (const w of old) w.retired = true;
    workers = next;
    generation = gen;
    const pids = [...next.values()].map((w) => w.child.pid ?? 0);
    const replaced = old.map((w) => w.child.pid ?? 0);
    for (const w of old) signal(w, "SIGTERM");
    await Promise.all(old.map((w) => w.gone));
    reloading = undefined;
    const line = `Reloaded: ${plural(pids.length, "worker")} (${pids.length === 1 ? "pid" : "pids"} ${pids.join(", ")}) replaced ${replaced.length}`;
    // Stopped meanwhile: the summary that follows says what happened; "Reloaded" after "Stopping" would only confuse.
    if (stopping === undefined) log(line, "notice", serveEvent("reload_done", "info", { workers: pids.length, pids, replaced, generation: gen }));
    return { ok: true, line };
  };

  const onSigint = () => onSignal("SIGINT");
  const onSigterm = () => onSignal("SIGTERM");
  const onSighup = () => void reload();
  if (options.signals !== false) {
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigterm);
    process.on("SIGHUP", onSighup);
  }
  const cleanUp = async () => {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
    process.off("SIGHUP", onSighup);
    await control.close();
  };

  try {
    // The first worker starts alone: a configuration problem then shows once, not once per worker.
    await Promise.race([start(1, workers, 1), startFailed]);
    if (stopping === undefined) {
      await Promise.race([Promise.all(Array.from({ length: options.workers - 1 }, (_, i) => start(i + 2, workers, 1))), startFailed]);
    }
  } catch (e) {
    stopping = "start failure";
    stopAll("SIGKILL");
    await cleanUp();
    throw e;
  }
  started = true;
  if (stopping === undefined && report !== undefined) {
    const event = listeningEvent(options.name, report.listeners, report.runtime, options.workers);
    log(startLine(options.name, report.listeners, report.runtime, options.workers), "info", event);
  }

  const stopped = done.then(async (code): Promise<Summary> => {
    await cleanUp();
    if (gaveUp) return { reason: stopping, code: 1, counts: {}, workers: [], line: undefined };
    const drained = ever.filter((w) => w.counts !== undefined).map((w) => w.counts!);
    const counts = drained.reduce((sum, c) => addCounts(sum, c), {});
    // No worker drained when the signal came before the first had its handlers in.
    const each = drained.length === 0 ? "" : ` (${drained.map((c) => c.connections ?? 0).join(" + ")} connections)`;
    const line = stoppedLine(stopping, `${options.summarize(counts)} over ${plural(drained.length, "worker")}${each}`);
    log(line, "info", stoppedEvent(stopping, counts, drained));
    return { reason: stopping, code, counts, workers: drained, line };
  });
  return {
    get listening() {
      return report;
    },
    get draining() {
      return stopping !== undefined;
    },
    stopped,
    stop(reason?: string) {
      if (stopping === undefined) stop(reason ?? "stop()", "SIGTERM");
      return stopped;
    },
    async status() {
      const asked = [...live].filter((w) => w.channel !== undefined && w.listening);
      return await Promise.all(asked.map(async (w) => (await w.channel!.request("status")) as ProcessStatus));
    },
    metrics: () => metrics.collect(),
    reload,
  };
}

/** What Linux says about migrating queued connections off a closing listener: "0", "1", or undefined where it cannot say. */
function readMigrateReq(): string | undefined {
  try {
    return readFileSync(MIGRATE_REQ, "utf8").trim();
  } catch (error) {
    // Deno reads files under /proc/sys only with --allow-all; a supervisor may run programs, and cat reads it.
    if ((error as { name?: string }).name !== "NotCapable" || !granted("run")) return undefined;
    try {
      return execFileSync("cat", [MIGRATE_REQ], { encoding: "utf8", timeout: 2000, stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return undefined;
    }
  }
}

/**
 * Whether this process may start workers: on Deno it needs `--allow-run` and `--allow-env`.
 *
 * @returns The one-line reason it may not, or undefined.
 */
export function cannotStartWorkers(): string | undefined {
  return granted("run") && granted("env") ? undefined : "Cannot start workers: run deno with --allow-run --allow-env";
}

/** How a worker ended, as event fields. */
function exit(code: number | null, signal: NodeJS.Signals | null): { status?: number; signal?: string } {
  return signal !== null ? { signal } : { status: code ?? undefined };
}

function cannotSpawn(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string };
  if (e?.name === "NotCapable" || /--allow-(run|env)/.test(String(e?.message))) {
    return "run deno with --allow-run --allow-env";
  }
  return String(e?.message ?? error).split("\n")[0]!;
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
}
