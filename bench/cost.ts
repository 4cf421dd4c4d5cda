/**
 * The paired cost of the abstraction: `npm run bench -- --cost`. Runs a twine
 * server and the bare server of the same runtime at once and alternates the load
 * between them in short slices (A B B A A B …), so that both share each moment's
 * noise; each pair of neighbouring slices gives one ratio, and the ratios give a
 * median with a bootstrap 95% confidence interval. Peak memory comes from fresh
 * servers run one at a time, since a server's peak covers everything it has seen.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { ROOT } from "../tools/runtimes.ts";
import { buildNative } from "./build.ts";
import { failWith, parseFlags } from "./cli.ts";
import { environment, hasTaskset } from "./environment.ts";
import { type Reach, type RunningServer, runJob, type ScenarioRun, startServer, type Transport } from "./measure.ts";
import type { Job } from "./scenarios.ts";
import { bootstrapMedian, type Interval, median } from "./stats.ts";
import { builtinTargets, metricsPair, serverCommand, type Target, type TransportSetup } from "./targets.ts";
import { transportSetup } from "./transport_setup.ts";

const USAGE = `Usage: npm run bench -- --cost [options]

Measures what twine costs against a bare echo server on the same runtime: both run
at once and the load alternates between them in short slices; each ratio is printed
as a median with a bootstrap 95% confidence interval.

Options:
  --targets LIST     twine targets, each compared with its runtime's bare server:
                     bun, bun-node, deno, deno-node, node (default: bun,deno,node)
  --scenarios LIST   rr64, stream (default: both)
  --transport LIST   tcp, tls, unix: each target is compared with its bare server over
                     each of these in turn (default tcp)
  --pairs N          pairs of slices per scenario and target (default 20)
  --slice SECONDS    measured length of one slice (default 0.5)
  --warmup SECONDS   unmeasured time at the start of each slice (default 0.1)
  --rss-runs N       fresh runs per server for peak memory; 0 skips them (default 3)
  --connections N    connections for rr64 (default 64)
  --out DIR          where cost.json and cost.md go (default bench/results)
  --against KIND     bare: each twine target against its runtime's bare server; metrics-off:
                     twine with metrics on against the same twine with metrics: false (default bare)
  --pin              pin the servers to CPU 0 and the load generator to CPU 1 (on this
                     2-core machine it gave wider intervals than leaving them to the scheduler)
  -h, --help         show this help`;

type CostScenario = "rr64" | "stream";

// Annotated, so that TypeScript knows code after a call to it does not run.
const fail: (message: string) => never = failWith("bench");

function parse(argv: string[]) {
  const v = parseFlags(
    {
      targets: { type: "string", default: "bun,deno,node" },
      scenarios: { type: "string", default: "rr64,stream" },
      transport: { type: "string", default: "tcp" },
      pairs: { type: "string", default: "20" },
      slice: { type: "string", default: "0.5" },
      warmup: { type: "string", default: "0.1" },
      "rss-runs": { type: "string", default: "3" },
      connections: { type: "string", default: "64" },
      out: { type: "string", default: "bench/results" },
      pin: { type: "boolean", default: false },
      against: { type: "string", default: "bare" },
    },
    USAGE,
    fail,
    argv,
  );
  const num = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) fail(`Invalid --${name} '${text}': expected a number of at least ${min}`);
    return n;
  };
  const scenarios = v.scenarios.split(",") as CostScenario[];
  for (const s of scenarios) if (s !== "rr64" && s !== "stream") fail(`Unknown cost scenario '${s}': expected rr64 or stream`);
  const transports = v.transport.split(",") as Transport[];
  for (const t of transports) if (!["tcp", "tls", "unix"].includes(t)) fail(`Invalid --transport '${t}': expected tcp, tls or unix`);
  if (v.against !== "bare" && v.against !== "metrics-off") fail(`Invalid --against '${v.against}': expected bare or metrics-off`);
  return {
    against: v.against,
    transports,
    targets: v.targets.split(","),
    scenarios,
    pairs: Math.round(num("pairs", v.pairs, 2)),
    slice: num("slice", v.slice, 0.05),
    warmup: num("warmup", v.warmup, 0),
    rssRuns: Math.round(num("rss-runs", v["rss-runs"], 0)),
    connections: Math.round(num("connections", v.connections, 1)),
    out: v.out,
    pin: v.pin && os.availableParallelism() >= 2 && hasTaskset(),
  };
}

type Options = ReturnType<typeof parse>;

function jobOf(scenario: CostScenario, o: Options): Job {
  return scenario === "rr64" ? { mode: "rr", connections: o.connections, size: 64 } : { mode: "stream", connections: 4, size: 65536 };
}

/** Throughput of a slice (messages or bytes per second) and server CPU seconds per unit of it. */
function figures(scenario: CostScenario, run: ScenarioRun): { rate: number; cpu: number } {
  const units = scenario === "rr64" ? run.operations : run.bytes;
  return { rate: units / run.seconds, cpu: (run.serverCpu ?? NaN) / units };
}

interface Slices {
  /** twine's rate over bare's, one per pair of neighbouring slices. */
  rate: Interval;
  /** twine's server CPU per unit over bare's: above 1, twine spends more. */
  cpu: Interval;
  twineRates: number[];
  bareRates: number[];
  ratios: number[];
  cpuRatios: number[];
  /** Pairs dropped because one of their slices echoed nothing at all. */
  starved: number;
}

interface Result {
  target: string;
  bare: string;
  transport: Transport;
  scenarios: Partial<Record<CostScenario, Slices>>;
  /** Peak resident MB of fresh servers, one value per run. */
  peakRssMB?: { twine: Record<CostScenario, number[]>; bare: Record<CostScenario, number[]> };
}

const errors: string[] = [];

async function slice(loadgen: string, job: Job, server: RunningServer, o: Options, name: string): Promise<ScenarioRun> {
  const run = await runJob(loadgen, job, server, { duration: o.slice, warmup: o.warmup }, o.pin ? 1 : undefined);
  if (run.verifiedBytes === 0 && run.errors.length === 0) run.errors.push("no byte came back");
  for (const e of run.errors) errors.push(`${name}: ${e}`);
  return run;
}

/** A target's server over the setup's transport. */
function start(t: Target, setup: TransportSetup, cpu: number | undefined): Promise<RunningServer> {
  const { command, reach }: { command: string[]; reach: Reach } = serverCommand(t, setup)!;
  return startServer(command, cpu, reach);
}

async function paired(loadgen: string, twine: Target, bare: Target, o: Options, setup: TransportSetup): Promise<Result["scenarios"]> {
  const cpu = o.pin ? 0 : undefined;
  const [a, b] = await Promise.all([start(twine, setup, cpu), start(bare, setup, cpu)]);
  const out: Result["scenarios"] = {};
  try {
    for (const scenario of o.scenarios) {
      const job = jobOf(scenario, o);
      // One unmeasured slice each, so that neither pays for its JIT inside a measured pair.
      await slice(loadgen, job, a, o, twine.name);
      await slice(loadgen, job, b, o, bare.name);
      const twineRates: number[] = [];
      const bareRates: number[] = [];
      const ratios: number[] = [];
      const cpuRatios: number[] = [];
      let starved = 0;
      for (let i = 0; i < o.pairs; i++) {
        progress(`${twine.name} vs ${bare.name} over ${setup.transport}: ${scenario} ${i + 1}/${o.pairs}`);
        // A B, then B A: whatever the first slice of a pair gains or loses falls on each side alike.
        const first = i % 2 === 0;
        const r1 = await slice(loadgen, job, first ? a : b, o, first ? twine.name : bare.name);
        const r2 = await slice(loadgen, job, first ? b : a, o, first ? bare.name : twine.name);
        const t = figures(scenario, first ? r1 : r2);
        const base = figures(scenario, first ? r2 : r1);
        // A slice in which nothing was echoed was starved by something else on the machine: no ratio.
        if (!(t.rate > 0 && base.rate > 0)) {
          starved++;
          continue;
        }
        twineRates.push(t.rate);
        bareRates.push(base.rate);
        ratios.push(t.rate / base.rate);
        cpuRatios.push(t.cpu / base.cpu);
      }
      out[scenario] = {
        rate: bootstrapMedian(ratios),
        cpu: bootstrapMedian(cpuRatios.filter(Number.isFinite)),
        twineRates,
        bareRates,
        ratios,
        cpuRatios,
        starved,
      };
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  return out;
}

async function peaks(loadgen: string, twine: Target, bare: Target, o: Options, setup: TransportSetup): Promise<Result["peakRssMB"]> {
  const empty = () => ({ rr64: [] as number[], stream: [] as number[] });
  const out = { twine: empty(), bare: empty() };
  for (let run = 0; run < o.rssRuns; run++) {
    const order: ["twine" | "bare", Target][] = [["twine", twine], ["bare", bare]];
    if (run % 2 === 1) order.reverse();
    for (const [side, target] of order) {
      progress(`${target.name}: peak memory, fresh server ${run + 1}/${o.rssRuns}`);
      const server = await start(target, setup, o.pin ? 0 : undefined);
      try {
        for (const scenario of o.scenarios) {
          const r = await runJob(loadgen, jobOf(scenario, o), server, { duration: 2, warmup: 0.2 }, o.pin ? 1 : undefined);
          for (const e of r.errors) errors.push(`${target.name}: ${e}`);
          if (r.peakRss !== undefined) out[side][scenario].push(r.peakRss / 2 ** 20);
        }
      } finally {
        await server.stop();
      }
    }
  }
  return out;
}

const progress = (text: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
};

const ratio = (i: Interval | undefined) =>
  i === undefined || Number.isNaN(i.median) ? "–" : `${i.median.toFixed(3)} [${i.low.toFixed(3)}, ${i.high.toFixed(3)}]`;

function rssCell(r: Result, scenario: CostScenario): string {
  const p = r.peakRssMB;
  if (p === undefined || p.twine[scenario].length === 0 || p.bare[scenario].length === 0) return "–";
  const t = median(p.twine[scenario]);
  const b = median(p.bare[scenario]);
  return `${t.toFixed(0)} vs ${b.toFixed(0)} (${t >= b ? "+" : ""}${(t - b).toFixed(1)})`;
}

const OVER: Record<Transport, string> = { tcp: "", tls: " over TLS", unix: " over Unix" };

/** The Markdown table of each side's median rate, so that transports can be set beside each other. */
export function ratesTable(results: Result[]): string {
  const med = (xs: number[] | undefined, scale: number) => (xs === undefined || xs.length === 0 ? "–" : Math.round(median(xs) / scale).toLocaleString("en-US"));
  const header = ["server", "transport", "rr64 msg/s twine", "rr64 msg/s bare", "stream MB/s twine", "stream MB/s bare"];
  const rows = results.map((r) => [
    `${r.target} / ${r.bare}`,
    r.transport,
    med(r.scenarios.rr64?.twineRates, 1),
    med(r.scenarios.rr64?.bareRates, 1),
    med(r.scenarios.stream?.twineRates, 1e6),
    med(r.scenarios.stream?.bareRates, 1e6),
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map((_, i) => (i < 2 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

/** The Markdown table of every ratio with its interval. */
export function costTable(results: Result[]): string {
  const header = [
    "twine vs bare",
    "rr64 msg/s",
    "rr64 CPU per msg",
    "stream MB/s",
    "stream CPU per byte",
    "peak RSS rr64 MB",
    "peak RSS stream MB",
    "pairs used",
  ];
  const rows = results.map((r) => [
    `${r.target} vs ${r.bare}${OVER[r.transport]}`,
    ratio(r.scenarios.rr64?.rate),
    ratio(r.scenarios.rr64?.cpu),
    ratio(r.scenarios.stream?.rate),
    ratio(r.scenarios.stream?.cpu),
    rssCell(r, "rr64"),
    rssCell(r, "stream"),
    Object.values(r.scenarios).map((x) => `${x.ratios.length}${x.starved > 0 ? ` (${x.starved} starved)` : ""}`).join(" / "),
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

/**
 * Runs the paired cost measurement with `argv` (the flags after `--cost`).
 *
 * @param argv Command-line flags.
 */
export async function runCost(argv: string[]): Promise<void> {
  const o = parse(argv);
  const t0 = performance.now();
  const { loadgen, cEcho, tls } = buildNative();
  const all = builtinTargets(cEcho);
  const pairs = o.targets.map((id) => {
    const twine = all.find((t) => t.id === id && t.kind === "twine");
    if (twine === undefined) fail(`Unknown twine target '${id}': expected bun, bun-node, deno, deno-node or node`);
    if (o.against === "metrics-off") return metricsPair(twine);
    return [twine, all.find((t) => t.kind === "bare" && t.runtime === twine.runtime)!] as const;
  });
  if (o.transports.includes("tls") && !tls) {
    console.log("bench: TLS rows skipped: the load generator was built without OpenSSL (install libssl-dev)");
    o.transports = o.transports.filter((t) => t !== "tls");
    if (o.transports.length === 0) return;
  }
  const results: Result[] = [];
  for (const transport of o.transports) {
    const setup = transportSetup(transport);
    try {
      for (const [twine, bare] of pairs) {
        const scenarios = await paired(loadgen, twine, bare, o, setup);
        const result: Result = { target: twine.name, bare: bare.name, transport, scenarios };
        if (o.rssRuns > 0) result.peakRssMB = await peaks(loadgen, twine, bare, o, setup);
        results.push(result);
      }
    } finally {
      setup.cleanup();
    }
  }
  progress("");
  const env = environment(o.pin);
  const seconds = (performance.now() - t0) / 1000;
  const { out, ...options } = o;
  const dir = out.startsWith("/") ? out : `${ROOT}${out}`;
  mkdirSync(dir, { recursive: true });
  // A run over other transports has files of its own, so it does not overwrite the TCP one.
  const base = o.against === "metrics-off" ? "cost-metrics" : "cost";
  const name = o.transports.join(",") === "tcp" ? base : `${base}-${o.transports.join("-")}`;
  writeFileSync(`${dir}/${name}.json`, `${JSON.stringify({ environment: env, options, seconds, errors, results }, null, 2)}\n`);
  const title = `twine abstraction cost, ${env.date.slice(0, 10)}: ${o.pairs} pairs of ${o.slice} s slices per ratio, ` +
    `median [95% bootstrap interval]; pinning: ${env.pinning}; ${seconds.toFixed(0)} s in all`;
  const md = `${title}\n\n${costTable(results)}\n\nPeak RSS: median of ${o.rssRuns} fresh runs each, twine vs bare (difference).\n\n` +
    `Median rate of the slices (for comparing transports; the ratios above are what to quote):\n\n${ratesTable(results)}\n`;
  writeFileSync(`${dir}/${name}.md`, md);
  console.log(md);
  console.log(`Wrote ${out}/${name}.json and ${out}/${name}.md`);
  if (errors.length > 0) {
    for (const e of errors.slice(0, 20)) console.error(`bench: FAILED ${e}`);
    process.exit(1);
  }
}
