/**
 * Many idle connections: `npm run bench:connections`. Each runtime's echo server runs with
 * several workers sharing its port, and several load generator processes connect from
 * source addresses of their own (127.0.0.2, 127.0.0.3 …) until it holds 100,000 idle
 * connections, each of which has echoed a byte. It reports the time to accept them all,
 * each worker's connections and memory, and the total; then every connection echoes one
 * more byte, which proves none was lost, and a wrong byte or a lost connection fails the run.
 *
 * One process may hold 20,000 descriptors here, and one source address has about 28,000
 * ports towards one server port: so the server needs 6 workers or more for 100,000, and the
 * clients several processes and addresses.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { BINARIES, ROOT } from "../tools/runtimes.ts";
import { RAISE_FD_LIMIT } from "../tools/server_process.ts";
import { buildNative } from "./build.ts";
import { failWith, parseFlags } from "./cli.ts";
import { environment } from "./environment.ts";
import { type RunningServer, startServer } from "./measure.ts";
import { rss } from "./proc.ts";

const USAGE = `Usage: npm run bench:connections -- [options]

Holds many idle connections on each runtime's echo server (native adapter) with several workers,
from several load generator processes; reports the time to accept them all and the memory per
connection, per worker and in total. Every connection echoes a byte when opened and another at
the end: a wrong byte or a lost connection fails the run (exit 1).

Options:
  --runtimes LIST     bun, deno, node (default: all three)
  --connections N     idle connections in all (default 100000)
  --workers N         server workers sharing the port (default 6; one process may hold 20,000
                      descriptors here)
  --clients N         load generator processes, each from two source addresses of its own
                      (default: one per 16,000 connections)
  --settle SECONDS    wait after the last connection before reading memory (default 2)
  --target HOST:PORT  hold the connections on an already running server instead (no memory figures)
  --out DIR           where connections.json and connections.md go (default bench/results/connections)
  -h, --help          show this help`;

// Annotated, so that TypeScript knows code after a call to it does not run.
const fail: (message: string) => never = failWith("bench:connections");

/** Descriptors one process may hold here, less a margin for its own files. */
const PER_PROCESS = 19_000;

function parse() {
  const v = parseFlags(
    {
      runtimes: { type: "string", default: "bun,deno,node" },
      connections: { type: "string", default: "100000" },
      workers: { type: "string", default: "6" },
      clients: { type: "string" },
      settle: { type: "string", default: "2" },
      target: { type: "string" },
      out: { type: "string", default: "bench/results/connections" },
    },
    USAGE,
    fail,
  );
  const whole = (name: string, text: string, min: number) => {
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= min)) fail(`Invalid --${name} '${text}': expected a whole number of at least ${min}`);
    return n;
  };
  const runtimes = v.runtimes.split(",");
  for (const r of runtimes) if (!["bun", "deno", "node"].includes(r)) fail(`Invalid --runtimes '${v.runtimes}': expected bun, deno or node`);
  const connections = whole("connections", v.connections, 1);
  const workers = whole("workers", v.workers, 1);
  const clients = v.clients === undefined ? Math.ceil(connections / 16_000) : whole("clients", v.clients, 1);
  if (connections / clients > PER_PROCESS) fail(`Invalid --clients '${clients}': ${connections} connections need at least ${Math.ceil(connections / PER_PROCESS)} clients of ${PER_PROCESS} descriptors each`);
  if (clients > 126) fail(`Invalid --clients '${clients}': at most 126 (two source addresses each in 127.0.0.2–127.0.0.253)`);
  let target: { host: string; port: number } | undefined;
  if (v.target !== undefined) {
    const m = /^([\d.]+):(\d+)$/.exec(v.target);
    if (!m) fail(`Invalid --target '${v.target}': expected an IPv4 HOST:PORT such as 127.0.0.1:8000`);
    target = { host: m[1]!, port: Number(m[2]) };
  } else if (connections / workers > PER_PROCESS) {
    fail(`Invalid --workers '${workers}': ${connections} connections need at least ${Math.ceil(connections / PER_PROCESS)} workers of ${PER_PROCESS} descriptors each`);
  }
  const settle = Number(v.settle);
  if (!(settle >= 0)) fail(`Invalid --settle '${v.settle}': expected a number of seconds`);
  return { runtimes, connections, workers, clients, settle, target, out: v.out };
}

const COMMANDS: Record<string, string[]> = {
  bun: [BINARIES.bun, "run", "bin/echo.ts"],
  deno: [BINARIES.deno, "run", "--allow-net", "--allow-run", "--allow-env", "bin/echo.ts"],
  node: [BINARIES.node, "bin/echo.ts"],
};

/** A server process and its workers (Linux: /proc/PID/task/PID/children). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, "utf8").trim();
      if (children) out.push(...children.split(" ").map(Number));
    } catch {
      // Gone already.
    }
  }
  return out;
}

/** One process of the server: resident memory and open descriptors. */
interface ProcessFigures {
  pid: number;
  rssMB: number;
  fds: number;
}

function figuresOf(pids: number[]): ProcessFigures[] {
  return pids.map((pid) => {
    let fds = NaN;
    try {
      fds = readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // Gone, or not ours to read.
    }
    return { pid, rssMB: rss(pid) / 2 ** 20, fds };
  });
}

/** A load generator process holding its share of the connections. */
interface Client {
  child: ChildProcess;
  held: Promise<number>;
  outcome: Promise<{ errors: string[]; verifiedBytes: number }>;
}

function startClient(loadgen: string, host: string, port: number, connections: number, index: number): Client {
  const source = `127.0.0.${2 + 2 * index}/2`;
  const args = ["--source", source, "idle", host, String(port), String(connections), "1", "0", "0", "/dev/null"];
  const child = spawn(RAISE_FD_LIMIT[0]!, [...RAISE_FD_LIMIT.slice(1), loadgen, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let buffered = "";
  let stderr = "";
  let onHeld: (seconds: number) => void = () => {};
  const held = new Promise<number>((resolve) => (onHeld = resolve));
  let result: { errors: string[]; verifiedBytes: number } | undefined;
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    buffered += s;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const msg = JSON.parse(buffered.slice(0, nl)) as { event?: string; seconds?: number; outcome?: typeof result };
      buffered = buffered.slice(nl + 1);
      if (msg.event === "holding") onHeld(msg.seconds ?? NaN);
      if (msg.outcome) result = msg.outcome;
    }
  });
  child.stdin!.on("error", () => {});
  const outcome = once(child, "close").then(([code]) => {
    // A client that failed before holding never says so: the run must not wait for it.
    onHeld(NaN);
    return result ?? { errors: [`load generator ${index + 1} exited with ${code} and no outcome: ${stderr.trim()}`], verifiedBytes: 0 };
  });
  return { child, held, outcome };
}

/** What one runtime's run measured. */
interface Row {
  runtime: string;
  connections: number;
  workers: number;
  clients: number;
  /** From starting the clients until every connection had echoed its first byte. */
  acceptSeconds: number;
  verifiedBytes: number;
  /** The supervisor first, then its workers; undefined for an external --target. */
  before?: ProcessFigures[];
  holding?: ProcessFigures[];
  errors: string[];
}

async function hold(loadgen: string, name: string, server: { host: string; port: number; pid?: number }, o: ReturnType<typeof parse>): Promise<Row> {
  const pids = server.pid === undefined ? [] : processTree(server.pid);
  const before = server.pid === undefined ? undefined : figuresOf(pids);
  const t0 = performance.now();
  const clients = Array.from({ length: o.clients }, (_, i) => {
    const share = Math.floor(o.connections / o.clients) + (i < o.connections % o.clients ? 1 : 0);
    return startClient(loadgen, server.host, server.port, share, i);
  });
  const held = await Promise.all(clients.map((c) => c.held));
  const acceptSeconds = (performance.now() - t0) / 1000;
  const errors: string[] = [];
  let holding: ProcessFigures[] | undefined;
  if (held.every(Number.isFinite)) {
    if (process.stderr.isTTY) process.stderr.write(`${name}: holding ${o.connections} connections after ${acceptSeconds.toFixed(1)} s\n`);
    await new Promise((resolve) => setTimeout(resolve, o.settle * 1000));
    if (server.pid !== undefined) holding = figuresOf(pids);
  }
  for (const c of clients) c.child.stdin!.end("release\n");
  const outcomes = await Promise.all(clients.map((c) => c.outcome));
  for (const [i, r] of outcomes.entries()) for (const e of r.errors) errors.push(`client ${i + 1}: ${e}`);
  return {
    runtime: name,
    connections: o.connections,
    workers: server.pid === undefined ? NaN : pids.length - 1,
    clients: o.clients,
    acceptSeconds,
    verifiedBytes: outcomes.reduce((n, r) => n + r.verifiedBytes, 0),
    before,
    holding,
    errors,
  };
}

const mb = (x: number) => x.toFixed(1);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function markdown(rows: Row[]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  const head = ["runtime", "connections", "workers", "time to accept all, s", "accepted per s", "RSS before, MB", "RSS holding, MB", "KiB per connection", "per worker: connections", "per worker: MB holding"];
  const out = [line(head), line(head.map((_, i) => (i === 0 ? "---" : "---:")))];
  for (const r of rows) {
    const accepted = Number.isFinite(r.acceptSeconds) && r.errors.length === 0;
    const rate = accepted ? Math.round(r.connections / r.acceptSeconds).toLocaleString("en-US") : "–";
    if (r.before === undefined || r.holding === undefined) {
      out.push(line([r.runtime, r.connections.toLocaleString("en-US"), "–", accepted ? r.acceptSeconds.toFixed(1) : "**FAILED**", rate, "–", "–", "–", "–", "–"]));
      continue;
    }
    const total = (f: ProcessFigures[]) => sum(f.map((p) => p.rssMB));
    const kib = ((total(r.holding) - total(r.before)) * 1024) / r.connections;
    // The supervisor holds no connection; its workers hold them all.
    const workers = r.holding.slice(1).map((p, i) => ({ conns: p.fds - (r.before![i + 1]?.fds ?? 0), mb: p.rssMB }));
    const range = (xs: number[], f: (x: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
    out.push(line([
      r.runtime,
      r.connections.toLocaleString("en-US"),
      r.workers,
      r.acceptSeconds.toFixed(1),
      rate,
      mb(total(r.before)),
      mb(total(r.holding)),
      kib.toFixed(2),
      range(workers.map((w) => w.conns), (x) => x.toLocaleString("en-US")),
      range(workers.map((w) => w.mb), mb),
    ]));
  }
  return out.join("\n");
}

async function main(): Promise<void> {
  const o = parse();
  const { loadgen } = buildNative();
  const rows: Row[] = [];
  if (o.target !== undefined) {
    rows.push(await hold(loadgen, `target ${o.target.host}:${o.target.port}`, o.target, o));
  } else {
    for (const runtime of o.runtimes) {
      let server: RunningServer;
      try {
        server = await startServer([...COMMANDS[runtime]!, "--workers", String(o.workers)], undefined);
      } catch (error) {
        rows.push({ runtime, connections: o.connections, workers: o.workers, clients: o.clients, acceptSeconds: NaN, verifiedBytes: 0, errors: [`cannot start: ${(error as Error).message}`] });
        continue;
      }
      try {
        // Let the workers finish starting up before their memory is read.
        await new Promise((resolve) => setTimeout(resolve, o.settle * 1000));
        rows.push(await hold(loadgen, runtime, server, o));
      } finally {
        await server.stop();
      }
    }
  }
  const env = environment(false);
  const title = `twine idle connections, ${env.date.slice(0, 10)}: ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB, ${env.kernel}; ` +
    `bun ${env.bun}, ${env.deno.split(" (")[0]}, node ${env.node}; ${o.clients} load generator processes`;
  const md = `${title}\n\n${markdown(rows)}\n`;
  const dir = o.out.startsWith("/") ? o.out : join(ROOT, o.out);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "connections.json"), `${JSON.stringify({ environment: env, options: o, rows }, null, 2)}\n`);
  writeFileSync(join(dir, "connections.md"), md);
  console.log(md);
  console.log(`Wrote ${o.out}/connections.json and ${o.out}/connections.md`);
  const errors = rows.flatMap((r) => r.errors.map((e) => `${r.runtime}: ${e}`));
  if (errors.length > 0) {
    for (const e of errors.slice(0, 20)) console.error(`bench:connections: FAILED ${e}`);
    process.exit(1);
  }
}

await main();
