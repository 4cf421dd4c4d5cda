/**
 * Runs N copies of the echo server sharing one port (`SO_REUSEPORT`), on the runtime and
 * adapter it was started with, through `node:child_process` (which Bun, Deno and Node all
 * implement), or as a `node:cluster` primary on a Node that ignores `reusePort`: restarts a
 * worker that dies, forwards SIGINT and SIGTERM, and sums what the workers served into one line.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import process from "node:process";
import { detectRuntime } from "../adapters/mod.ts";
import type { WorkerMode } from "./worker_mode.ts";

/** What {@link supervise} needs. */
export interface SupervisorOptions {
  /** How many workers. */
  workers: number;
  /** The port asked for; 0 lets the first worker pick one that the others then share. */
  port: number;
  /** The command-line arguments every worker gets, except `--port` and `--workers`. */
  args: string[];
  /** Seconds the workers may take to drain on SIGINT or SIGTERM. */
  grace: number;
  /**
   * How the workers share the port, as `workerMode()` decides it.
   * @default "reuse-port"
   */
  mode?: WorkerMode;
  /**
   * The address the workers listen on; the cluster primary picks port 0's free port on it.
   * @default "127.0.0.1"
   */
  host?: string;
}

/** The message a cluster worker gets instead of a forwarded signal (see echo.ts). */
export const STOP_MESSAGE = "twine:stop";

// A worker that dies before listening this many times in a row is not going to start.
const MAX_START_FAILURES = 5;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
// A worker that ran this long has started well: its next death starts the back-off afresh.
const HEALTHY_MS = 10_000;

interface Worker {
  readonly slot: number;
  child: ChildProcess;
  listening: boolean;
  startedAt: number;
  served: number;
  echoed: number;
  stopped: boolean;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** The command that runs this script again on the same runtime, with the permissions a worker needs. */
function workerCommand(): string[] {
  const script = process.argv[1]!;
  switch (detectRuntime().name) {
    case "bun":
      return [process.execPath, "run", script];
    case "deno":
      // Deno.listen's reusePort is behind --unstable-net (Deno 2.9).
      return [process.execPath, "run", "--allow-net", "--no-prompt", "--unstable-net", script];
    default:
      return [process.execPath, ...process.execArgv, script];
  }
}

/**
 * Starts the workers and supervises them until a signal stops them; never returns.
 *
 * @param options Worker count, port, arguments and grace period.
 * @returns Never: exits 0 once every worker has drained after a signal, 1 if workers keep dying.
 */
export async function supervise(options: SupervisorOptions): Promise<never> {
  const command = workerCommand();
  const cluster = options.mode === "cluster" ? (await import("node:cluster")).default : undefined;
  const workers = new Map<number, Worker>();
  let port = options.port;
  let describe = "";
  let stopping: string | undefined;
  let started = false;
  let gaveUp = false;
  const failures = new Map<number, number>();
  // Every worker that ever ran: the summary counts those that drained after a restart too.
  const ever: Worker[] = [];
  let finished: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finished = resolve));

  const start = (slot: number): Promise<void> => {
    // A signal while the first worker was starting: the rest must not start after the "Stopping" line.
    if (stopping !== undefined) return Promise.resolve();
    let child: ChildProcess;
    const args = [...options.args, "--port", String(port), "--worker"];
    try {
      if (cluster !== undefined) {
        // silent: the worker's stdout and stderr are pipes, read below as a spawned worker's are.
        cluster.setupPrimary({ exec: process.argv[1]!, args, silent: true });
        child = cluster.fork().process;
      } else {
        // Own process group: a terminal's Ctrl-C reaches only the supervisor, which forwards it once.
        child = spawn(command[0]!, [...command.slice(1), ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
      }
    } catch (error) {
      console.error(`echo: Cannot start workers: ${cannotSpawn(error)}`);
      process.exit(1);
    }
    const worker: Worker = { slot, child, listening: false, startedAt: Date.now(), served: 0, echoed: 0, stopped: false };
    workers.set(slot, worker);
    ever.push(worker);
    return new Promise((resolve) => {
      let errors = "";
      lines(child.stdout!, (line) => {
        const listening = /listening on (\S+) \((.*)\)$/.exec(line);
        if (listening !== null && !worker.listening) {
          worker.listening = true;
          port = Number(/:(\d+)$/.exec(listening[1]!)![1]);
          describe ||= `${listening[1]} (${listening[2]}`;
          // Once stopping, the worker is being stopped already: "started" would only confuse.
          if (stopping === undefined) console.log(`Worker ${slot} started (pid ${child.pid})`);
          resolve();
          return;
        }
        const stopped = /served (\d+) connections?, echoed (\d+) bytes?/.exec(line);
        if (stopped !== null) {
          worker.served = Number(stopped[1]);
          worker.echoed = Number(stopped[2]);
          worker.stopped = true;
        }
      });
      lines(child.stderr!, (line) => {
        errors ||= line;
        console.error(`worker ${slot} (pid ${child.pid}): ${line}`);
      });
      child.on("error", (error) => {
        console.error(`echo: Cannot start workers: ${cannotSpawn(error)}`);
        process.exit(1);
      });
      // "close", not "exit": the worker's last stdout line (its counts) has been read by then.
      child.on("close", (code, signal) => {
        if (workers.get(slot) === worker) workers.delete(slot);
        resolve();
        if (stopping !== undefined) {
          if (workers.size === 0) finished(0);
          return;
        }
        const how = signal !== null ? signal : `status ${code}`;
        if (!started) {
          // The first start failing is a configuration problem (a port in use, a bad flag): say it once and stop.
          console.error(`echo: Worker ${slot} exited (${how}) before listening${errors ? `: ${errors.replace(/^echo: /, "")}` : ""}`);
          stopAll("SIGKILL");
          process.exit(1);
        }
        const ranWell = worker.listening && Date.now() - worker.startedAt >= HEALTHY_MS;
        const count = ranWell ? 1 : (failures.get(slot) ?? 0) + 1;
        failures.set(slot, count);
        if (count > MAX_START_FAILURES) {
          console.error(`echo: Worker ${slot} keeps dying (${count} times in a row, last ${how}); giving up`);
          gaveUp = true;
          stopping = "SIGTERM";
          stopAll("SIGTERM");
          if (workers.size === 0) finished(1);
          return;
        }
        const delay = Math.min(FIRST_BACKOFF_MS * 2 ** (count - 1), MAX_BACKOFF_MS);
        console.error(`Worker ${slot} (pid ${child.pid}) exited (${how}); restarting in ${delay / 1000} s`);
        setTimeout(() => {
          if (stopping === undefined) void start(slot);
        }, delay);
      });
    });
  };

  const stopAll = (signal: NodeJS.Signals) => {
    for (const w of workers.values()) {
      try {
        // A cluster worker shares the terminal's process group and may have had this signal already: a message
        // stops it only if it is not stopping, where a second signal would kill it.
        if (cluster !== undefined && signal !== "SIGKILL" && w.child.connected) {
          w.child.send({ [STOP_MESSAGE]: signal });
          continue;
        }
        // process.kill, not child.kill: Deno's child.kill had not reached the worker when the supervisor exited at once.
        if (w.child.pid !== undefined) process.kill(w.child.pid, signal);
      } catch {
        // Already gone.
      }
    }
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping !== undefined) {
      console.error(`echo: ${signal} again, exiting now`);
      stopAll("SIGKILL");
      process.exit(1);
    }
    stopping = signal;
    console.error(`Stopping on ${signal}: ${plural(workers.size, "worker")} draining for up to ${options.grace} s (${signal} again stops at once)`);
    stopAll(signal);
    if (workers.size === 0) finished(0);
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  // The cluster primary binds one socket per address and port that workers ask for, so they must all ask
  // for the same port, a replacement too: pick port 0's free port here rather than through worker 1.
  if (cluster !== undefined && port === 0) port = await freePort(options.host ?? "127.0.0.1");
  // The first worker binds (port 0 picks one); the others join it on the same port.
  await start(1);
  if (stopping === undefined) await Promise.all(Array.from({ length: options.workers - 1 }, (_, i) => start(i + 2)));
  started = true;
  if (stopping === undefined) {
    console.log(`Echo server listening on ${describe}, ${plural(options.workers, "worker")})`);
  }
  const code = await done;
  if (gaveUp) process.exit(1);
  const drained = ever.filter((w) => w.stopped);
  const served = drained.reduce((n, w) => n + w.served, 0);
  const echoed = drained.reduce((n, w) => n + w.echoed, 0);
  // No worker drained when the signal came before the first had its handlers in.
  const each = drained.length === 0 ? "" : ` (${drained.map((w) => w.served).join(" + ")} connections)`;
  console.log(
    `Stopped on ${stopping}: served ${plural(served, "connection")}, echoed ${plural(echoed, "byte")} over ${plural(drained.length, "worker")}${each}`,
  );
  process.exit(code);
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    // A host that cannot be bound: worker 1 then fails on port 0 and says why, as without cluster.
    server.on("error", () => resolve(0));
    server.listen({ host, port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
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
