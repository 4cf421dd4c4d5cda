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
  const pid = server.pid;
  const latencyFile = `${tmpdir()}/twine-bench-${process.pid}-latency.bin`;
  const reach = server.reach;
  const via = reach?.transport === "unix" ? ["--unix", reach.path] : reach?.transport === "tls" ? ["--tls", "--ca", reach.ca] : [];
  if (job.window !== undefined) via.push("--window", String(job.window));
  if (job.source !== undefined && reach?.transport !== "unix") via.push("--source", job.source);
  // Over a Unix socket the load generator ignores host and port.
  const host = reach?.transport === "unix" ? "-" : server.host;
  const args = [...via, job.mode, host, server.port, job.connections, job.size, timing.duration, timing.warmup, latencyFile];
  // A limit makes stream send exactly that many bytes per connection, churn run that many cycles.
  if (limit !== undefined) args.push(limit);
  if (pid !== undefined) resetPeak(pid);
  const rssBefore = pid !== undefined ? rss(pid) : undefined;
  const child: ChildProcess = spawn(RAISE_NOFILE[0]!, [...RAISE_NOFILE.slice(1), ...pinned([loadgen, ...args.map(String)], cpu)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let cpu0 = 0;
  let serverCpu: number | undefined;
  let rssHolding: number | undefined;
  let holdSeconds: number | undefined;
  let outcome: Partial<ScenarioRun> | undefined;
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  let buffered = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    buffered += s;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const msg = JSON.parse(line) as { event?: string; seconds?: number; outcome?: Partial<ScenarioRun> };
      if (msg.event === "measure" && pid !== undefined) cpu0 = cpuSeconds(pid);
      else if (msg.event === "stop" && pid !== undefined) serverCpu = cpuSeconds(pid) - cpu0;
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
  const latencyUs = latencies(latencyFile);
  rmSync(latencyFile, { force: true });
  const errors = [...(outcome?.errors ?? [])];
  if (outcome === undefined) errors.push(`load generator exited with ${code} and no outcome: ${stderr.trim()}`);
  return {
    operations: outcome?.operations ?? 0,
    bytes: outcome?.bytes ?? 0,
    seconds: outcome?.seconds ?? 0,
    verifiedBytes: outcome?.verifiedBytes ?? 0,
    loadgenCpu: outcome?.loadgenCpu ?? 0,
    errors,
    latencyUs,
    serverCpu,
    peakRss: pid !== undefined ? peakRss(pid) : undefined,
    rssBefore,
    rssHolding,
    holdSeconds,
    sent: outcome?.sent,
    late: outcome?.late,
    lost: outcome?.lost,
    ...(outcome?.tls !== undefined ? { tls: outcome.tls } : {}),
  };
}
