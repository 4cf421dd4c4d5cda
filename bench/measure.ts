/** Starts servers and runs the load generator against them, reading the server's CPU and memory from /proc. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import tls from "node:tls";
import * as hdr from "hdr-histogram-js";
import { ROOT } from "../tools/runtimes.ts";
import { RAISE_FD_LIMIT } from "../tools/server_process.ts";
import { cpuSeconds, peakRss, resetPeak, rss } from "./proc.ts";
import type { Job } from "./scenarios.ts";

/** Raises the soft open-files limit to the hard one, so thousands of idle connections fit. */
const RAISE_NOFILE = RAISE_FD_LIMIT;

/** The socket a server is benchmarked over. */
export type Transport = "tcp" | "tls" | "unix";

/** How to reach a server besides TCP: its Unix socket, or TLS and the CA its certificate is signed by. */
export type Reach = { transport: "tcp" } | { transport: "tls"; ca: string } | { transport: "unix"; path: string };

export interface RunningServer {
  host: string;
  port: number;
  /** Undefined for plain TCP. */
  reach?: Reach;
  /** Undefined for an external --target: no CPU or memory figures then. */
  pid?: number;
  startupMs?: number;
  stop(): Promise<void>;
}

function pinned(command: string[], cpu: number | undefined): string[] {
  return cpu === undefined ? command : ["taskset", "-c", String(cpu), ...command];
}

/** Echoes one byte over a fresh connection; resolves once it is back. */
function firstEcho(host: string, port: number, reach: Reach): Promise<void> {
  return new Promise((resolve, reject) => {
    const send = () => sock.write("x");
    const sock = reach.transport === "unix"
      ? net.connect({ path: reach.path }, send)
      : reach.transport === "tls"
      ? tls.connect({ host, port, ca: readFileSync(reach.ca) }, send)
      : net.connect({ host, port, noDelay: true }, send);
    sock.once("data", () => {
      sock.destroy();
      resolve();
    });
    sock.once("error", reject);
  });
}

/** What a server's start line says for each transport: "listening on 127.0.0.1:PORT", "… ssl:127.0.0.1:PORT", "… unix:PATH". */
const LISTENING: Record<Transport, RegExp> = {
  tcp: /listening on ([\d.]+):(\d+)/,
  tls: /listening on (?:.*, )?ssl:([\d.]+):(\d+)/,
  unix: /listening on (?:.*, )?unix:/,
};

/**
 * Starts `command` (with `--port 0` added over TCP; `command` holds the other transports'
 * flags), waits for its listening line and its first echo.
 */
export async function startServer(command: string[], cpu: number | undefined, reach: Reach = { transport: "tcp" }): Promise<RunningServer> {
  const t0 = performance.now();
  // A socket file left by an earlier server of the same target would refuse a bare server's bind.
  if (reach.transport === "unix") rmSync(reach.path, { force: true });
  const full = reach.transport === "tcp" ? [...command, "--port", "0"] : command;
  const child = spawn(RAISE_NOFILE[0]!, [...RAISE_NOFILE.slice(1), ...pinned(full, cpu)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (output += s));
  const exited = once(child, "close");
  const [host, port] = await new Promise<[string, number]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line after 30 s: ${output.trim()}`)), 30_000);
    const check = () => {
      const m = LISTENING[reach.transport].exec(output);
      if (m) {
        clearTimeout(timer);
        resolve([m[1] ?? "", Number(m[2] ?? 0)]);
      }
    };
    child.stdout!.on("data", check);
    child.once("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening: ${output.trim()}`));
    });
  });
  await firstEcho(host, port, reach);
  const startupMs = performance.now() - t0;
  return {
    host,
    port,
    reach: reach.transport === "tcp" ? undefined : reach,
    pid: child.pid,
    startupMs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** What one scenario run measured. */
export interface ScenarioRun {
  operations: number;
  bytes: number;
  seconds: number;
  verifiedBytes: number;
  loadgenCpu: number;
  errors: string[];
  /** --tls: the protocol and cipher agreed, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384". */
  tls?: string;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number } | null;
  /** Server CPU seconds (user + system) in the measured window. */
  serverCpu?: number;
  /** Server peak resident bytes during the scenario. */
  peakRss?: number;
  /** udp: datagrams sent in the window; echoed after the load generator gave up on them; never echoed. */
  sent?: number;
  late?: number;
  lost?: number;
  /** Server resident bytes before and while holding idle connections. */
  rssBefore?: number;
  rssHolding?: number;
  /** idle: seconds from the first connect until every connection had its byte echoed. */
  holdSeconds?: number;
}

function latencies(file: string): ScenarioRun["latencyUs"] {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch {
    return null;
  }
  if (raw.length === 0) return null;
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const samples = new Uint32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  for (const us of samples) h.recordValue(us);
  const out = {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: Math.round(h.mean * 10) / 10,
  };
  h.destroy();
  return out;
}

/** Runs one load generator job against `server` and reads the server's figures around it. */
export async function runJob(
  loadgen: string,
  job: Job,
  server: RunningServer,
  timing: { duration: number; warmup: number },
  cpu: number | undefined,
  limit?: number,
): Promise<ScenarioRun> {
  return (await run(loadgen, job, [server], timing, cpu, limit))[0]!;
}

/**
 * Runs one job against two servers of the same transport in turns (the load generator's
 * `--pair`): `first` has the first turn, each turn lasts `turn` seconds plus the time its
 * last requests take to come back, and the two never have load at once. Each side's figures
 * count what it completed over the time of its own turns; its CPU is over the whole window.
 *
 * @param loadgen The load generator.
 * @param job What to run on each side (connections per side).
 * @param first The server that gets the first turn.
 * @param second The other server.
 * @param timing Measured seconds in all, after the warm-up.
 * @param turn Seconds of new load per turn.
 * @param cpu The CPU to pin the load generator to.
 * @returns The two sides' figures, `first`'s first.
 */
export async function runAlternating(
  loadgen: string,
  job: Job,
  first: RunningServer,
  second: RunningServer,
  timing: { duration: number; warmup: number },
  turn: number,
  cpu: number | undefined,
): Promise<[ScenarioRun, ScenarioRun]> {
  const [a, b] = await run(loadgen, job, [first, second], timing, cpu, undefined, turn);
  return [a!, b!];
}

/** Reads a server's CPU time without failing once it has gone. */
function cpuOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return cpuSeconds(pid);
  } catch {
    return undefined;
  }
}

async function run(
  loadgen: string,
  job: Job,
  servers: RunningServer[],
  timing: { duration: number; warmup: number },
  cpu: number | undefined,
  limit?: number,
  turn?: number,
): Promise<ScenarioRun[]> {
  const [server, pair] = servers as [RunningServer, RunningServer | undefined];
  const pids = servers.map((s) => s.pid);
  const pid = server.pid;
  const latencyFile = `${tmpdir()}/twine-bench-${process.pid}-latency.bin`;
  const reach = server.reach;
  const via = reach?.transport === "unix" ? ["--unix", reach.path] : reach?.transport === "tls" ? ["--tls", "--ca", reach.ca] : [];
  if (job.window !== undefined) via.push("--window", String(job.window));
  if (job.source !== undefined && reach?.transport !== "unix") via.push("--source", job.source);
  if (pair !== undefined) {
    via.push("--pair", pair.reach?.transport === "unix" ? pair.reach.path : `${pair.host}:${pair.port}`);
    if (turn !== undefined) via.push("--turn", String(turn * 1000));
  }
  // Over a Unix socket the load generator ignores host and port.
  const host = reach?.transport === "unix" ? "-" : server.host;
  const args = [...via, job.mode, host, server.port, job.connections, job.size, timing.duration, timing.warmup, latencyFile];
  // A limit makes stream send exactly that many bytes per connection, churn run that many cycles.
  if (limit !== undefined) args.push(limit);
  for (const p of pids) if (p !== undefined) resetPeak(p);
  const rssBefore = pid !== undefined ? rss(pid) : undefined;
  const child: ChildProcess = spawn(RAISE_NOFILE[0]!, [...RAISE_NOFILE.slice(1), ...pinned([loadgen, ...args.map(String)], cpu)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let cpu0: (number | undefined)[] = [];
  let serverCpu: (number | undefined)[] = [];
  let rssHolding: number | undefined;
  let holdSeconds: number | undefined;
  let outcome: (Partial<ScenarioRun> & { pair?: { operations: number; bytes: number; seconds: number } }) | undefined;
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  let buffered = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    buffered += s;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const msg = JSON.parse(line) as { event?: string; seconds?: number; outcome?: typeof outcome };
      if (msg.event === "measure") cpu0 = pids.map(cpuOf);
      else if (msg.event === "stop") serverCpu = pids.map((p, i) => (cpu0[i] === undefined ? undefined : cpuOf(p)! - cpu0[i]!));
      else if (msg.event === "holding") {
        holdSeconds = msg.seconds;
        // Let the server settle its accept burst before reading its memory.
        setTimeout(() => {
          if (pid !== undefined) rssHolding = rss(pid);
          child.stdin!.end("release\n");
        }, 300);
      } else if (msg.outcome) outcome = msg.outcome;
    }
  });
  const deadline = setTimeout(() => child.kill("SIGKILL"), (timing.duration + timing.warmup + 60) * 1000);
  // "close", not "exit": exit can come before the last stdout line, the outcome, has been read.
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(deadline);
  const errors = [...(outcome?.errors ?? [])];
  if (outcome === undefined) errors.push(`load generator exited with ${code} and no outcome: ${stderr.trim()}`);
  const runs: ScenarioRun[] = [];
  for (const [i, s] of servers.entries()) {
    const file = i === 0 ? latencyFile : `${latencyFile}.pair`;
    const figures = i === 0 ? outcome : outcome?.pair;
    runs.push({
      operations: figures?.operations ?? 0,
      bytes: figures?.bytes ?? 0,
      seconds: figures?.seconds ?? 0,
      verifiedBytes: outcome?.verifiedBytes ?? 0,
      loadgenCpu: outcome?.loadgenCpu ?? 0,
      errors,
      latencyUs: latencies(file),
      serverCpu: serverCpu[i],
      peakRss: s.pid !== undefined ? peakRss(s.pid) : undefined,
      rssBefore: i === 0 ? rssBefore : undefined,
      rssHolding: i === 0 ? rssHolding : undefined,
      holdSeconds: i === 0 ? holdSeconds : undefined,
      sent: outcome?.sent,
      late: outcome?.late,
      lost: outcome?.lost,
      ...(outcome?.tls !== undefined ? { tls: outcome.tls } : {}),
    });
    rmSync(file, { force: true });
  }
  return runs;
}
