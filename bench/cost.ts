/**
 * The paired run: `npm run bench -- --cost`. Two servers run at once, twine and the bare
 * server of the same runtime, or twine on one runtime and twine on another, and one load
 * generator takes turns between them, 0.1 s of load each (the load generator's --pair), so
 * that both share each moment's noise; each pair gives one ratio per figure, and pairs are
 * added until every interval is narrow enough (paired.ts). With --turn 0, and for UDP, each
 * side gets a slice of its own instead (A B, B A …). Start-up and idle memory alternate
 * fresh launches. Peak memory comes from fresh servers run one at a time, since a server's
 * peak covers everything it has seen.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { ROOT } from "../tools/runtimes.ts";
import { buildNative } from "./build.ts";
import { failWith, parseFlags } from "./cli.ts";
import { absoluteTable, convergenceLine, type CostRow, launchTable, type PeakRow, peakTable, sliceTable } from "./cost_report.ts";
import {
  type Channel,
  COST_DEFAULT,
  type CostScenario,
  figureSpecs,
  parseScenarios,
  RUNTIMES_DEFAULT,
  sliceFigures,
  sliceJob,
} from "./cost_scenarios.ts";
import { environment, hasTaskset } from "./environment.ts";
import { type InstalledPackage, installPackage, packageCommand } from "./installed_package.ts";
import { runAlternating, type RunningServer, runJob, type ScenarioRun, startServer, type Transport } from "./measure.ts";
import { type MeasurePair, measurePaired, oneAfterTheOther, type PairingOptions } from "./paired.ts";
import type { Job } from "./scenarios.ts";
import { freshSources } from "./sources.ts";
import { builtinTargets, metricsPair, runtimeLabel, serverCommand, type Target, type TransportSetup, withUdp } from "./targets.ts";
import { transportSetup } from "./transport_setup.ts";

const USAGE = `Usage: npm run bench -- --cost [options]

Paired comparisons: twine against a bare echo server on the same runtime, and twine on one
runtime against twine on another. Both servers run at once and the load generator takes turns
between them (start-up and idle memory: fresh launches in turn); each ratio is printed as a
median with its 95% bootstrap interval, and pairs are added until every interval is within
±--within of its median.

Options:
  --targets LIST     what to compare, comma-separated (default: bun,deno,node,bun/node,deno/node,bun/deno):
                       bun, bun-node, deno, deno-node, node: twine on that pair against its runtime's
                       bare server;
                       A/B (e.g. bun/node): twine on A against twine on B
  --scenarios LIST   rr64, stream, stream-256k (a stream with at most 256 KiB in flight per
                     connection), each over tcp unless prefixed tls: or unix: (tls:rr64);
                     handshake (full TLS handshakes); udp (UDP rr64; twine against twine only);
                     startup, startup-package (twine from the npm package, packed and installed,
                     the bare server as JavaScript), idle (memory per idle connection on fresh servers)
                     (default for twine vs bare: ${COST_DEFAULT.join(",")};
                     for A/B: ${RUNTIMES_DEFAULT.join(",")})
  --transport LIST   tcp, tls, unix: what an unprefixed rr64, stream or stream-256k runs over
                     (default tcp)
  --pairs N          pairs before the first look at the intervals (default 10)
  --max-pairs N      pairs at most per ratio (default 60)
  --within PERCENT   stop adding pairs once every interval is within this of its median (default 5)
  --slice SECONDS    measured load per side in one pair (default 0.5)
  --turn SECONDS     length of one turn of load within a pair; 0: one slice per side instead,
                     one after the other, as UDP always runs (default 0.1)
  --warmup SECONDS   unmeasured time at the start of each pair (default 0.1)
  --idle N           idle connections held by each fresh server (default 10000)
  --rss-runs N       fresh runs per server for peak memory under rr64 and stream; 0 skips them (default 3)
  --connections N    connections for rr64 and udp (default 64)
  --out DIR          where cost.json, cost.md and runtimes.svg go (default bench/results)
  --against KIND     what a single twine target is paired with: bare (its runtime's bare server) or
                     metrics-off (the same twine server with the listen option metrics: false,
                     bench/metrics_echo.ts on both sides) (default bare)
  --pin              pin the servers to CPU 0 and the load generator to CPU 1 (on this
                     2-core machine it gave wider intervals than leaving them to the scheduler)
  -h, --help         show this help`;

// Annotated, so that TypeScript knows code after a call to it does not run.
const fail: (message: string) => never = failWith("bench");

function parse(argv: string[]) {
  const v = parseFlags(
    {
      targets: { type: "string", default: "bun,deno,node,bun/node,deno/node,bun/deno" },
      scenarios: { type: "string" },
      transport: { type: "string", default: "tcp" },
      pairs: { type: "string", default: "10" },
      "max-pairs": { type: "string" },
      within: { type: "string", default: "5" },
      slice: { type: "string", default: "0.5" },
      turn: { type: "string", default: "0.1" },
      warmup: { type: "string", default: "0.1" },
      idle: { type: "string", default: "10000" },
      "rss-runs": { type: "string", default: "3" },
      connections: { type: "string", default: "64" },
      out: { type: "string", default: "bench/results" },
      against: { type: "string", default: "bare" },
      pin: { type: "boolean", default: false },
    },
    USAGE,
    fail,
    argv,
  );
  const num = (name: string, text: string, min: number, max = Infinity, whole = false) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
      fail(`Invalid --${name} '${text}': expected ${whole ? "a whole number" : "a number"} ${max === Infinity ? `of at least ${min}` : `from ${min} to ${max}`}`);
    }
    return n;
  };
  const transports = v.transport.split(",") as Transport[];
  for (const t of transports) if (!["tcp", "tls", "unix"].includes(t)) fail(`Invalid --transport '${t}': expected tcp, tls or unix`);
  let scenarios: CostScenario[] | undefined;
  if (v.scenarios !== undefined) {
    const parsed = parseScenarios(v.scenarios.split(","), transports);
    if (typeof parsed === "string") fail(parsed);
    scenarios = parsed;
  }
  const pairs = num("pairs", v.pairs, 2, Infinity, true);
  const maxPairs = v["max-pairs"] === undefined ? Math.max(60, pairs) : num("max-pairs", v["max-pairs"], 2, Infinity, true);
  if (maxPairs < pairs) fail(`Invalid --max-pairs '${maxPairs}': expected at least --pairs (${pairs})`);
  if (v.against !== "bare" && v.against !== "metrics-off") fail(`Invalid --against '${v.against}': expected bare or metrics-off`);
  return {
    against: v.against,
    targets: v.targets.split(","),
    scenarios,
    transports,
    pairing: { minPairs: pairs, maxPairs, within: num("within", v.within, 0.1, 100) / 100 } satisfies PairingOptions,
    slice: num("slice", v.slice, 0.05),
    turn: Number(v.turn) === 0 ? 0 : num("turn", v.turn, 0.005, 10),
    warmup: num("warmup", v.warmup, 0),
    idle: num("idle", v.idle, 1, 19_000, true),
    rssRuns: num("rss-runs", v["rss-runs"], 0, Infinity, true),
    connections: num("connections", v.connections, 1, 10_000, true),
    out: v.out,
    pin: v.pin && os.availableParallelism() >= 2 && hasTaskset(),
  };
}

type Options = ReturnType<typeof parse>;

/** Two servers to compare, and what to measure on them. */
interface Comparison {
  kind: CostRow["comparison"];
  a: Target;
  b: Target;
  scenarios: CostScenario[];
}

function comparisons(o: Options, all: Target[]): Comparison[] {
  const twine = (id: string) => {
    const t = all.find((x) => x.id === id && x.kind === "twine");
    if (t === undefined) fail(`Unknown twine target '${id}': expected bun, bun-node, deno, deno-node or node, or two of them as A/B`);
    return t;
  };
  return o.targets.map((entry) => {
    const ids = entry.split("/");
    if (ids.length > 2 || (ids.length === 2 && ids[0] === ids[1])) fail(`Invalid target '${entry}': expected one twine target, or two different ones as A/B`);
    const kind = ids.length === 2 ? "runtimes" as const : "cost" as const;
    let a = twine(ids[0]!);
    let b = kind === "runtimes" ? twine(ids[1]!) : all.find((t) => t.kind === "bare" && t.runtime === a.runtime)!;
    if (kind === "cost" && o.against === "metrics-off") [a, b] = metricsPair(a);
    // Counting costs on the data path only: metrics on against off is measured where data flows.
    const defaults = kind === "runtimes" ? RUNTIMES_DEFAULT : o.against === "metrics-off" ? ["rr64", "stream"] : COST_DEFAULT;
    const wanted = o.scenarios ?? (parseScenarios(defaults, o.transports) as CostScenario[]);
    // The bare servers speak TCP only: UDP compares twine with twine.
    return { kind, a, b, scenarios: wanted.filter((s) => !(kind === "cost" && s.channel === "udp")) };
  });
}

const errors: string[] = [];

const progress = (text: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
};

/** Where the sides of a comparison are shown: "bare bun", or "bun" beside another runtime. */
const shown = (c: Comparison, t: Target) => (c.kind === "runtimes" ? runtimeLabel(t) : t.name);

async function slice(loadgen: string, job: Job, server: RunningServer, o: Options, name: string): Promise<ScenarioRun> {
  const run = await runJob(loadgen, job, server, { duration: o.slice, warmup: o.warmup }, o.pin ? 1 : undefined);
  if (run.verifiedBytes === 0 && run.errors.length === 0) run.errors.push("no byte came back");
  for (const e of run.errors) errors.push(`${name}: ${e}`);
  return run;
}

/** The command and reach of a target's server over a channel (udp: TCP with UDP echo beside it). */
function commandOf(t: Target, channel: Channel, setups: Map<Transport, TransportSetup>) {
  const target = channel === "udp" ? withUdp(t) : t;
  return serverCommand(target, setups.get(channel === "udp" ? "tcp" : channel)!);
}

function start(t: Target, channel: Channel, setups: Map<Transport, TransportSetup>, o: Options): Promise<RunningServer> {
  const found = commandOf(t, channel, setups);
  if (found === undefined) throw new Error(`${t.name} has no server over ${channel}`);
  return startServer(found.command, o.pin ? 0 : undefined, found.reach);
}

/** Runs a comparison's slice scenarios of one channel on one pair of running servers. */
async function sliced(loadgen: string, c: Comparison, channel: Channel, o: Options, setups: Map<Transport, TransportSetup>): Promise<CostRow[]> {
  const scenarios = c.scenarios.filter((s) => !s.launch && s.channel === channel);
  if (scenarios.length === 0) return [];
  const started = await Promise.allSettled([start(c.a, channel, setups, o), start(c.b, channel, setups, o)]);
  if (started.some((s) => s.status === "rejected")) {
    for (const s of started) if (s.status === "fulfilled") await s.value.stop();
    for (const [i, s] of started.entries()) if (s.status === "rejected") errors.push(`${[c.a, c.b][i]!.name}: cannot start: ${(s.reason as Error).message}`);
    return [];
  }
  const [a, b] = started.map((s) => (s as PromiseFulfilledResult<RunningServer>).value) as [RunningServer, RunningServer];
  const rows: CostRow[] = [];
  try {
    for (const scenario of scenarios) {
      const job = () => {
        const j = sliceJob(scenario, o.connections);
        // Each handshake slice connects from addresses no earlier slice used: no TIME_WAIT in its way.
        if (scenario.kind === "handshake") j.source = freshSources();
        return j;
      };
      // One unmeasured slice each, so that neither pays for its JIT inside a measured pair.
      await slice(loadgen, job(), a, o, c.a.name);
      await slice(loadgen, job(), b, o, c.b.name);
      // UDP has no turns in the load generator: its sides get a slice each.
      const measure: MeasurePair = o.turn > 0 && scenario.kind !== "udp"
        ? async (first) => {
          const [x, y] = first === "a" ? [a, b] : [b, a];
          const runs = await runAlternating(loadgen, job(), x, y, { duration: 2 * o.slice, warmup: o.warmup }, o.turn, o.pin ? 1 : undefined);
          const named = `${c.a.name} and ${c.b.name}`;
          if (runs[0].verifiedBytes === 0 && runs[0].errors.length === 0) runs[0].errors.push("no byte came back");
          for (const e of runs[0].errors) errors.push(`${named}: ${e}`);
          const [ra, rb] = first === "a" ? runs : [runs[1], runs[0]];
          return { a: sliceFigures(scenario, ra), b: sliceFigures(scenario, rb) };
        }
        : oneAfterTheOther(async (side) => {
          const run = await slice(loadgen, job(), side === "a" ? a : b, o, side === "a" ? c.a.name : c.b.name);
          return sliceFigures(scenario, run);
        });
      const where = `${shown(c, c.a)} vs ${shown(c, c.b)}: ${scenario.id}`;
      const result = await measurePaired(measure, figureSpecs(scenario), o.pairing, (i) => progress(`${where} pair ${i}`));
      rows.push({ comparison: c.kind, a: shown(c, c.a), b: shown(c, c.b), scenario, result });
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  return rows;
}

/** What a fresh launch of a server measures: its start-up, or its memory per idle connection. */
async function launched(
  loadgen: string,
  t: Target,
  scenario: CostScenario,
  o: Options,
  setups: Map<Transport, TransportSetup>,
  installed: () => InstalledPackage,
): Promise<Record<string, number> | undefined> {
  let { command } = commandOf(t, "tcp", setups)!;
  // The installed package is JavaScript: the bare server runs as JavaScript beside it.
  if (scenario.kind === "startup-package") command = packageCommand(command, installed());
  let server: RunningServer;
  try {
    server = await startServer(command, o.pin ? 0 : undefined);
  } catch (error) {
    errors.push(`${t.name}: cannot start: ${(error as Error).message}`);
    return undefined;
  }
  try {
    if (scenario.kind !== "idle") return { ms: server.startupMs! };
    const job: Job = { mode: "idle", connections: o.idle, size: 1, source: freshSources() };
    const run = await runJob(loadgen, job, server, { duration: 0, warmup: 0 }, o.pin ? 1 : undefined);
    for (const e of run.errors) errors.push(`${t.name}: ${e}`);
    if (run.errors.length > 0 || run.rssHolding === undefined || run.rssBefore === undefined) return undefined;
    return { kib: (run.rssHolding - run.rssBefore) / o.idle / 1024 };
  } finally {
    await server.stop();
  }
}

async function peaks(loadgen: string, c: Comparison, transport: Transport, o: Options, setups: Map<Transport, TransportSetup>): Promise<PeakRow> {
  const kinds = (["rr64", "stream"] as const).filter((k) => c.scenarios.some((s) => s.kind === k && s.channel === transport));
  const empty = () => Object.fromEntries(kinds.map((k) => [k, [] as number[]]));
  const out: PeakRow = { a: c.a.name, b: c.b.name, transport, peakRssMB: { a: empty(), b: empty() } };
  for (let run = 0; run < o.rssRuns && kinds.length > 0; run++) {
    const order: ["a" | "b", Target][] = [["a", c.a], ["b", c.b]];
    if (run % 2 === 1) order.reverse();
    for (const [side, target] of order) {
      progress(`${target.name}: peak memory, fresh server ${run + 1}/${o.rssRuns}`);
      const server = await start(target, transport, setups, o);
      try {
        for (const kind of kinds) {
          const job = sliceJob({ id: kind, kind, channel: transport, launch: false }, o.connections);
          const r = await runJob(loadgen, job, server, { duration: 2, warmup: 0.2 }, o.pin ? 1 : undefined);
          for (const e of r.errors) errors.push(`${target.name}: ${e}`);
          if (r.peakRss !== undefined) out.peakRssMB[side][kind]!.push(r.peakRss / 2 ** 20);
        }
      } finally {
        await server.stop();
      }
    }
  }
  return out;
}

/**
 * Runs the paired comparisons with `argv` (the flags after `--cost`).
 *
 * @param argv Command-line flags.
 */
export async function runCost(argv: string[]): Promise<void> {
  const o = parse(argv);
  const t0 = performance.now();
  const { loadgen, cEcho, tls } = buildNative();
  let plan = comparisons(o, builtinTargets(cEcho));
  if (!tls && plan.some((c) => c.scenarios.some((s) => s.channel === "tls"))) {
    console.log("bench: TLS rows skipped: the load generator was built without OpenSSL (install libssl-dev)");
    plan = plan.map((c) => ({ ...c, scenarios: c.scenarios.filter((s) => s.channel !== "tls") }));
  }
  plan = plan.filter((c) => c.scenarios.length > 0);
  if (plan.length === 0) fail("No scenario left to compare after --targets and --scenarios");

  const setups = new Map<Transport, TransportSetup & { cleanup(): void }>();
  for (const c of plan) {
    for (const s of c.scenarios) {
      const t: Transport = s.channel === "udp" ? "tcp" : s.channel;
      if (!setups.has(t)) setups.set(t, transportSetup(t));
    }
  }
  let pkg: InstalledPackage | Error | undefined;
  const installed = () => {
    if (pkg === undefined) {
      progress("packing and installing the npm package");
      try {
        pkg = installPackage();
      } catch (error) {
        // Said once, in the first comparison that needs it; the others fail on the same error.
        pkg = error as Error;
      }
    }
    if (pkg instanceof Error) throw pkg;
    return pkg;
  };

  const rows: CostRow[] = [];
  const peakRows: PeakRow[] = [];
  try {
    for (const c of plan) {
      try {
        for (const channel of [...new Set(c.scenarios.filter((s) => !s.launch).map((s) => s.channel))]) {
          rows.push(...(await sliced(loadgen, c, channel, o, setups)));
        }
        for (const scenario of c.scenarios.filter((s) => s.launch)) {
          if (scenario.kind === "startup-package") installed();
          const measure = oneAfterTheOther((side) => launched(loadgen, side === "a" ? c.a : c.b, scenario, o, setups, installed));
          const where = `${shown(c, c.a)} vs ${shown(c, c.b)}: ${scenario.id}`;
          const result = await measurePaired(measure, figureSpecs(scenario), o.pairing, (i) => progress(`${where} pair ${i}`));
          rows.push({ comparison: c.kind, a: shown(c, c.a), b: shown(c, c.b), scenario, result });
        }
        if (c.kind === "cost" && o.rssRuns > 0) {
          for (const t of o.transports) if (c.scenarios.some((s) => s.channel === t && (s.kind === "rr64" || s.kind === "stream"))) peakRows.push(await peaks(loadgen, c, t, o, setups));
        }
      } catch (error) {
        // Packing failed, or a server would not start for its peaks: say so, and go on with the next comparison.
        errors.push(`${c.a.name} vs ${c.b.name}: ${(error as Error).message}`);
      }
    }
  } finally {
    for (const s of setups.values()) s.cleanup();
    if (pkg !== undefined && !(pkg instanceof Error)) pkg.cleanup();
  }
  progress("");

  const env = environment(o.pin);
  const seconds = (performance.now() - t0) / 1000;
  const { out, ...options } = o;
  const dir = out.startsWith("/") ? out : `${ROOT}${out}`;
  mkdirSync(dir, { recursive: true });
  // A run over other transports has files of its own, so it does not overwrite the TCP one.
  const name = (o.transports.join(",") === "tcp" ? "cost" : `cost-${o.transports.join("-")}`) + (o.against === "metrics-off" ? "-metrics" : "");
  writeFileSync(`${dir}/${name}.json`, `${JSON.stringify({ environment: env, options, seconds, errors, results: rows, peaks: peakRows }, null, 2)}\n`);
  const bound = `±${(o.pairing.within * 100).toFixed(0)}%`;
  const machine = `${env.cpu}, ${env.cores} cores, ${env.kernel}; bun ${env.bun}, ${env.deno.split(" (")[0]}, node ${env.node}`;
  const how = o.turn > 0 ? `${o.slice} s of load per side and pair in turns of ${o.turn} s` : `slices of ${o.slice} s`;
  const title = `twine paired comparisons, ${env.date.slice(0, 10)}: ${machine}; ${how}, ` +
    `${o.pairing.minPairs} to ${o.pairing.maxPairs} pairs per ratio (until ${bound}); median [95% bootstrap interval], A over B; ` +
    `pinning: ${env.pinning}; ${seconds.toFixed(0)} s in all`;
  const parts = [
    title,
    sliceTable(rows, "cost", o.pairing.within),
    launchTable(rows, "cost", o.pairing.within),
    peakTable(peakRows) === "" ? "" : `Peak RSS: median of ${o.rssRuns} fresh runs each, twine vs bare (difference):\n\n${peakTable(peakRows)}`,
    sliceTable(rows, "runtimes", o.pairing.within),
    launchTable(rows, "runtimes", o.pairing.within),
    absoluteTable(rows) === "" ? "" : `Median rate of each runtime's slices in the comparisons above:\n\n${absoluteTable(rows)}`,
    convergenceLine(rows, o.pairing.within),
  ].filter((p) => p !== "");
  const md = `${parts.join("\n\n")}\n`;
  writeFileSync(`${dir}/${name}.md`, md);
  console.log(md);
  // Loaded here, not at the top: vega takes a second to load, which a mistyped flag should not wait for.
  const { runtimesChartSvg } = await import("./runtimes_chart.ts");
  const svg = await runtimesChartSvg(rows, [`twine on each runtime, paired: ${env.date.slice(0, 10)}`, machine]);
  if (svg !== undefined) writeFileSync(`${dir}/runtimes.svg`, svg);
  console.log(`Wrote ${out}/${name}.json and ${out}/${name}.md${svg === undefined ? "" : ` and ${out}/runtimes.svg`}`);
  if (errors.length > 0) {
    for (const e of errors.slice(0, 20)) console.error(`bench: FAILED ${e}`);
    process.exit(1);
  }
}
