/**
 * The scaling benchmark: `npm run bench:scaling`. Request/response throughput (the main
 * benchmark's rr64) of each runtime's echo server with 1 and 2 workers, and of HAProxy
 * (deploy/haproxy.cfg) in front of one server per runtime, with HAProxy's own CPU.
 * Repetitions are interleaved across rows; figures are medians with min–max.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { BINARIES, ROOT } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";
import { buildNative } from "./build.ts";
import { failWith, parseFlags } from "./cli.ts";
import { type RunningServer, runJob, startServer } from "./measure.ts";
import { cpuSeconds } from "./proc.ts";

const USAGE = `Usage: npm run bench:scaling -- [options]

Request/response throughput of each runtime's echo server with 1 and 2 workers, and of
HAProxy (deploy/haproxy.cfg) in front of one server per runtime, with HAProxy's own CPU.

Options:
  --duration S      seconds measured per row and repetition (default 3)
  --warmup S        seconds of load before each measurement (default 0.5)
  --reps N          interleaved repetitions (default 3)
  --connections N   connections of the load generator (default 64)
  --size BYTES      bytes per echo (default 64)
  --rows PREFIXES   only the rows whose names start with one of these, comma-separated
                    (bun, deno, node, haproxy; the haproxy row needs haproxy installed)
  --out DIR         where scaling.json and scaling.md go (default bench/results/scaling)
  -h, --help        show this help`;

// Annotated, so that TypeScript knows code after a call to it does not run.
const fail: (message: string) => never = failWith("bench:scaling");

function parse() {
  const values = parseFlags(
    {
      duration: { type: "string", default: "3" },
      warmup: { type: "string", default: "0.5" },
      reps: { type: "string", default: "3" },
      connections: { type: "string", default: "64" },
      size: { type: "string", default: "64" },
      rows: { type: "string" },
      out: { type: "string", default: "bench/results/scaling" },
    },
    USAGE,
    fail,
  );
  const num = (name: string, text: string, min: number, integer = false) => {
    const v = Number(text);
    if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      fail(`Invalid --${name} '${text}': expected ${integer ? "a whole number" : "a number"} of at least ${min}`);
    }
    return v;
  };
  return {
    duration: num("duration", values.duration, 0.1),
    warmup: num("warmup", values.warmup, 0),
    reps: num("reps", values.reps, 1, true),
    connections: num("connections", values.connections, 1, true),
    size: num("size", values.size, 1, true),
    rows: values.rows?.split(","),
    out: values.out,
  };
}

const args = parse();

const DENO_SUPERVISOR = [BINARIES.deno, "run", "--allow-net", "--allow-run", "--allow-env"];
const COMMANDS: Record<string, string[]> = {
  bun: [BINARIES.bun, "run", "bin/echo.ts"],
  deno: [...DENO_SUPERVISOR, "bin/echo.ts"],
  node: [BINARIES.node, "bin/echo.ts"],
};

interface Row {
  name: string;
  start(): Promise<{ server: RunningServer; pids(): number[]; lb?: number }>;
}

/** The process and its descendants (Linux). */
function tree(pid: number): number[] {
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

function cpuOf(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += cpuSeconds(pid);
    } catch {
      // Gone already.
    }
  }
  return total;
}

function workersRow(runtime: string, workers: number): Row {
  return {
    name: `${runtime} native, ${workers} worker${workers === 1 ? "" : "s"}`,
    async start() {
      const server = await startServer([...COMMANDS[runtime]!, "--workers", String(workers)], undefined);
      return { server, pids: () => tree(server.pid!) };
    },
  };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const haproxyRow: Row = {
  name: "HAProxy → bun + deno + node (1 worker each)",
  async start() {
    // Not the benchmark's startServer: its first echo has no PROXY header, which these servers refuse.
    const backends = await Promise.all(
      (["bun", "deno", "node"] as const).map((r) => startProcess(r, [...COMMANDS[r]!, "--proxy-protocol", "--port", "0"])),
    );
    const dir = mkdtempSync(join(os.tmpdir(), "twine-bench-lb-"));
    const port = await freePort();
    const lb: ChildProcess = spawn("haproxy", ["-db", "-f", "deploy/haproxy.cfg"], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        TWINE_LB_BIND: `127.0.0.1:${port}`,
        TWINE_BUN: `127.0.0.1:${backends[0]!.port}`,
        TWINE_DENO: `127.0.0.1:${backends[1]!.port}`,
        TWINE_NODE: `127.0.0.1:${backends[2]!.port}`,
        TWINE_LB_STATS: join(dir, "stats.sock"),
      },
    });
    // HAProxy is ready once a connection through it echoes.
    for (let i = 0; ; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const sock = net.connect({ host: "127.0.0.1", port }, () => sock.write("x"));
        sock.once("data", () => {
          sock.destroy();
          resolve(true);
        });
        sock.on("error", () => resolve(false));
        sock.once("close", () => resolve(false));
      });
      if (ok) break;
      if (i > 100) throw new Error("HAProxy did not echo within 10 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    const server: RunningServer = {
      host: "127.0.0.1",
      port,
      pid: lb.pid,
      async stop() {
        lb.kill("SIGTERM");
        await once(lb, "exit");
        await Promise.all(backends.map((b) => b.stop("SIGTERM")));
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return { server, pids: () => backends.flatMap((b) => tree(b.pid!)), lb: lb.pid };
  },
};

const ALL: Row[] = [
  workersRow("bun", 1),
  workersRow("bun", 2),
  workersRow("deno", 1),
  workersRow("deno", 2),
  workersRow("node", 1),
  workersRow("node", 2),
  haproxyRow,
];

interface Sample {
  opsPerSecond: number;
  serverCores: number;
  lbCores?: number;
  loadgenCores: number;
  errors: string[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const spread = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;

async function main(): Promise<void> {
  const rows = args.rows === undefined ? ALL : ALL.filter((r) => args.rows!.some((k) => r.name.startsWith(k)));
  if (rows.length === 0) fail(`Invalid --rows '${args.rows!.join(",")}': expected bun, deno, node or haproxy`);
  const { loadgen } = buildNative();
  const timing = { duration: args.duration, warmup: args.warmup };
  const reps = args.reps;
  const job = { mode: "rr" as const, connections: args.connections, size: args.size };
  const samples = new Map<string, Sample[]>(rows.map((r) => [r.name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const row of rows) {
      const { server, pids, lb } = await row.start();
      const all = pids();
      const cpu0 = cpuOf(all);
      const t0 = performance.now();
      const run = await runJob(loadgen, job, server, timing, undefined);
      const wall = (performance.now() - t0) / 1000;
      const serverCores = (cpuOf(all) - cpu0) / wall;
      await server.stop();
      samples.get(row.name)!.push({
        opsPerSecond: run.operations / run.seconds,
        serverCores,
        lbCores: lb !== undefined && run.serverCpu !== undefined ? run.serverCpu / run.seconds : undefined,
        loadgenCores: run.loadgenCpu,
        errors: run.errors,
      });
      console.error(`rep ${rep + 1}/${reps} ${row.name}: ${fmt(run.operations / run.seconds)} echoes/s${run.errors.length ? ` ERRORS ${run.errors.join("; ")}` : ""}`);
    }
  }
  const lines = [
    `rr${job.connections}: ${job.connections} connections, ${job.size}-byte echoes, ${timing.duration} s measured after ${timing.warmup} s, ${reps} interleaved repetitions, nothing pinned; ${os.availableParallelism()} cores shared with the load generator.\n`,
    "| row | echoes/s, median (min–max) | vs 1 worker | server CPU, cores (run + warm-up) | HAProxy CPU, cores | load generator CPU, cores |",
    "|---|---|---|---|---|---|",
  ];
  const baseline = new Map<string, number>();
  for (const row of rows) {
    const s = samples.get(row.name)!;
    const ops = median(s.map((x) => x.opsPerSecond));
    const runtime = row.name.split(" ")[0]!;
    if (row.name.endsWith("1 worker")) baseline.set(runtime, ops);
    const base = baseline.get(runtime);
    const ratio = row.name.endsWith("2 workers") && base !== undefined ? `${(ops / base).toFixed(2)}×` : "";
    const lbCores = s[0]!.lbCores === undefined ? "" : median(s.map((x) => x.lbCores!)).toFixed(2);
    const errors = s.flatMap((x) => x.errors).length;
    lines.push(
      `| ${row.name} | ${fmt(ops)} (${spread(s.map((x) => x.opsPerSecond))})${errors ? ` ${errors} errors` : ""} | ${ratio} | ${median(s.map((x) => x.serverCores)).toFixed(2)} | ${lbCores} | ${median(s.map((x) => x.loadgenCores)).toFixed(2)} |`,
    );
  }
  const markdown = lines.join("\n");
  console.log(markdown);
  mkdirSync(args.out, { recursive: true });
  const when = new Date().toISOString();
  writeFileSync(join(args.out, "scaling.md"), `twine scaling benchmark, ${when}\n\n${markdown}\n`);
  writeFileSync(
    join(args.out, "scaling.json"),
    `${JSON.stringify({ date: when, options: { ...job, ...timing, reps }, rows: rows.map((r) => ({ name: r.name, samples: samples.get(r.name) })) }, null, 1)}\n`,
  );
  console.error(`bench:scaling: wrote ${args.out}/scaling.json and scaling.md`);
  // A byte lost or changed anywhere makes every figure suspect.
  const errors = [...samples.values()].flat().flatMap((x) => x.errors);
  if (errors.length > 0) {
    console.error(`bench:scaling: FAILED: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""}`);
    process.exit(1);
  }
}

await main();
