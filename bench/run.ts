/**
 * The benchmark: `npm run bench` (or `deno task bench`). Starts each echo server
 * in turn, drives the same load at it with the C load generator, checks every
 * byte, and writes a Markdown table (stdout), JSON and an SVG chart.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { ROOT } from "../tools/runtimes.ts";
import { buildNative } from "./build.ts";
import { failWith, parseFlags } from "./cli.ts";
import { environment, hasTaskset } from "./environment.ts";
import { type RunningServer, runJob, startServer, type Transport } from "./measure.ts";
import { abstractionCost, markdown, metricsOf, type Sample, summarize } from "./report.ts";
import { jobFor, OPT_IN_SCENARIOS, type ScenarioName, SCENARIOS, TRANSPORT_SCENARIOS } from "./scenarios.ts";
import { freshSources, timeWaitSockets } from "./sources.ts";
import { builtinTargets, NO_TWISTED, serverCommand, servesUdp, type Target, twistedPython, withUdp } from "./targets.ts";
import { transportSetup } from "./transport_setup.ts";

const USAGE = `Usage: npm run bench -- [options]

Benchmarks the echo server on every runtime and adapter, beside bare reference servers.

Options:
  --targets LIST          comma-separated: bun, bun-node, deno, deno-node, node,
                          bare-bun, bare-deno, bare-node, bare-c, twisted (default: all;
                          twisted, Twisted's echo server over TCP, where python3-twisted is installed)
  --runtimes LIST         only targets on these runtimes: bun, deno, node, c, python
  --target HOST:PORT      benchmark an already running echo server instead (TCP only)
  --transport KIND        tcp, tls (throwaway certificates, made per run; startup, rr1, rr64,
                          stream) or unix (a Unix socket); bare-c has no TLS (default tcp)
  --scenarios LIST        startup, rr1, rr64, stream, churn, idle (default: all);
                          udp (only when named: UDP request/response on twine's targets)
  --duration SECONDS      measured time per scenario (default 1.2)
  --warmup SECONDS        unmeasured time before it (default 0.4)
  --reps N                repetitions, interleaved across targets (default 3)
  --connections N         connections for rr64 (default 64)
  --size BYTES            message size for rr1, rr64, churn (default 64)
  --stream-connections N  connections for stream (default 4)
  --chunk BYTES           write size for stream (default 65536)
  --churn-concurrency N   parallel connect/echo/close loops (default 8)
  --idle N                idle connections to hold (default 5000)
  --out DIR               where bench.json, bench.svg and bench.md go (default bench/results)
  --no-pin                do not pin the server to CPU 0 and the load generator to CPU 1
  --quick                 a seconds-long smoke run: 1 repetition, short scenarios, 200 idle connections
  --cost                  the paired cost of the abstraction instead (see --cost --help)
  -h, --help              show this help`;

// Annotated, so that TypeScript knows code after a call to it does not run.
const fail: (message: string) => never = failWith("bench");

function parse() {
  const parsed = parseFlags(
    {
      targets: { type: "string" },
      runtimes: { type: "string" },
      target: { type: "string" },
      transport: { type: "string", default: "tcp" },
      scenarios: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      reps: { type: "string" },
      connections: { type: "string", default: "64" },
      size: { type: "string", default: "64" },
      "stream-connections": { type: "string", default: "4" },
      chunk: { type: "string", default: "65536" },
      "churn-concurrency": { type: "string", default: "8" },
      idle: { type: "string" },
      out: { type: "string", default: "bench/results" },
      "no-pin": { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
    },
    USAGE,
    fail,
  );
  const num = (name: string, text: string | undefined, fallback: number, min: number) => {
    const v = text === undefined ? fallback : Number(text);
    if (!Number.isFinite(v) || v < min) fail(`Invalid --${name} '${text}': expected a number of at least ${min}`);
    return v;
  };
  const q = parsed.quick;
  const transport = parsed.transport as Transport;
  if (!(transport in TRANSPORT_SCENARIOS)) fail(`Invalid --transport '${transport}': expected tcp, tls or unix`);
  if (transport !== "tcp" && parsed.target !== undefined) fail("Cannot combine --target with --transport: an external server is benchmarked over TCP");
  const defaults = transport === "tcp" ? SCENARIOS : TRANSPORT_SCENARIOS[transport];
  return {
    transport,
    targets: parsed.targets?.split(","),
    runtimes: parsed.runtimes?.split(","),
    external: parsed.target,
    scenarios: (parsed.scenarios?.split(",") ?? defaults) as ScenarioName[],
    duration: num("duration", parsed.duration, q ? 0.3 : 1.2, 0.05),
    warmup: num("warmup", parsed.warmup, q ? 0.1 : 0.4, 0),
    reps: num("reps", parsed.reps, q ? 1 : 3, 1),
    connections: num("connections", parsed.connections, 64, 1),
    size: num("size", parsed.size, 64, 8),
    streamConnections: num("stream-connections", parsed["stream-connections"], 4, 1),
    chunk: num("chunk", parsed.chunk, 65536, 1),
    churnConcurrency: num("churn-concurrency", parsed["churn-concurrency"], 8, 1),
    idle: num("idle", parsed.idle, q ? 200 : 5000, 1),
    out: parsed.out,
    pin: !parsed["no-pin"] && os.availableParallelism() >= 2 && hasTaskset(),
    quick: q,
  };
}

const progress = (text: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
};

async function main(): Promise<void> {
  if (process.argv.includes("--cost")) {
    const { runCost } = await import("./cost.ts");
    return await runCost(process.argv.slice(2).filter((a) => a !== "--cost"));
  }
  const opts = parse();
  for (const s of opts.scenarios) {
    if (!SCENARIOS.includes(s) && !OPT_IN_SCENARIOS.includes(s)) fail(`Unknown scenario '${s}' (see --help)`);
    if (!TRANSPORT_SCENARIOS[opts.transport].includes(s)) fail(`Cannot run scenario '${s}' over ${opts.transport}`);
  }
  let native;
  try {
    native = buildNative();
  } catch (error) {
    fail((error as Error).message);
  }
  if (opts.transport === "tls" && !native.tls) {
    console.log("bench: TLS rows skipped: the load generator was built without OpenSSL (install libssl-dev)");
    return;
  }
  const setup = transportSetup(opts.transport);
  let targets: Target[];
  let external: { host: string; port: number } | undefined;
  if (opts.external !== undefined) {
    const m = /^([\d.]+):(\d+)$/.exec(opts.external);
    if (!m) fail(`Invalid --target '${opts.external}': expected an IPv4 HOST:PORT such as 127.0.0.1:8000`);
    external = { host: m[1]!, port: Number(m[2]) };
    targets = [{ id: "target", name: `target ${opts.external}`, runtime: "external", kind: "external" }];
  } else {
    const all = builtinTargets(native.cEcho);
    for (const id of opts.targets ?? []) if (!all.some((t) => t.id === id) && id !== "twisted") fail(`Unknown target '${id}' (see --help)`);
    const wantsTwisted = (opts.targets === undefined || opts.targets.includes("twisted")) &&
      (opts.runtimes === undefined || opts.runtimes.includes("python"));
    if (wantsTwisted && opts.transport === "tcp" && twistedPython() === undefined) console.log(NO_TWISTED);
    targets = all.filter((t) =>
      (opts.targets === undefined || opts.targets.includes(t.id)) &&
      (opts.runtimes === undefined || opts.runtimes.includes(t.runtime)) &&
      serverCommand(t, setup) !== undefined
    );
    if (targets.length === 0) fail("No target left after --targets and --runtimes");
    if (opts.scenarios.includes("udp")) targets = targets.map(withUdp);
  }

  const samples: Sample[] = [];
  const record = (t: Target, scenario: ScenarioName, rep: number, metrics: Record<string, number>, errors: string[], raw?: Sample["raw"]) =>
    samples.push({ target: t.name, runtime: t.runtime, kind: t.kind, scenario, rep, metrics, errors, raw });
  const timed = opts.scenarios.filter((s) => s !== "startup");
  const serverCpu = opts.pin ? 0 : undefined;
  const loadgenCpu = opts.pin ? 1 : undefined;

  // One unmeasured start per target first, so the first repetition does not pay for cold caches.
  for (const t of targets) {
    if (t.command === undefined) continue;
    progress(`priming ${t.name}`);
    const { command, reach } = serverCommand(t, setup)!;
    await startServer(command, serverCpu, reach).then((s) => s.stop(), () => {});
  }

  const start = (t: Target): Promise<RunningServer> => {
    if (t.command === undefined) return Promise.resolve({ ...external!, stop: async () => {} });
    const { command, reach } = serverCommand(t, setup)!;
    return startServer(command, serverCpu, reach);
  };

  // Idle gets a server of its own: holding thousands of connections leaves memory
  // behind that would blur the peaks of every scenario after it.
  const groups = [timed.filter((s) => s !== "idle"), timed.filter((s) => s === "idle")];
  const withStartup = opts.scenarios.includes("startup");

  for (let rep = 1; rep <= opts.reps; rep++) {
    for (const t of targets) {
      const where = `[${rep}/${opts.reps}] ${t.name}`;
      progress(`${where}: starting`);
      for (const [i, group] of groups.entries()) {
        // Start-up is timed on the first server of each repetition.
        const startup = i === 0 && withStartup;
        if (group.length === 0 && !startup) continue;
        let server: RunningServer;
        try {
          server = await start(t);
        } catch (error) {
          for (const s of startup ? ["startup" as const, ...group] : group) {
            record(t, s, rep, {}, [`cannot start: ${(error as Error).message}`]);
          }
          continue;
        }
        if (startup && server.startupMs !== undefined) record(t, "startup", rep, { startupMs: server.startupMs }, []);
        for (const scenario of group) {
          if (scenario === "udp" && !servesUdp(t)) continue;
          progress(`${where}: ${scenario} (${timed.indexOf(scenario) + 1}/${timed.length})`);
          const job = jobFor(scenario, opts)!;
          // Each churn and idle row connects from addresses of its own, clear of the TIME_WAIT
          // earlier rows left: otherwise the later rows of a repetition ran faster whatever they were.
          if (scenario === "churn" || scenario === "idle") job.source = freshSources();
          const timeWait = timeWaitSockets();
          const run = await runJob(native.loadgen, job, server, opts, loadgenCpu);
          if (run.verifiedBytes === 0 && run.errors.length === 0) run.errors.push("no byte came back");
          const metrics = metricsOf(scenario, run, job.connections);
          if (scenario === "churn" && timeWait !== undefined) metrics.timeWaitBefore = timeWait;
          record(t, scenario, rep, metrics, run.errors, run);
        }
        await server.stop();
      }
    }
  }
  progress("");
  setup.cleanup();

  const summary = summarize(samples);
  const table = markdown(summary, targets, samples, opts.connections);
  const env = environment(opts.pin);
  const failures = samples.filter((s) => s.errors.length > 0).map((s) => ({ target: s.target, scenario: s.scenario, rep: s.rep, errors: s.errors }));
  const { out, ...options } = opts;
  const outDir = out.startsWith("/") ? out : `${ROOT}${out}`;
  mkdirSync(outDir, { recursive: true });
  const result = {
    environment: env,
    options,
    integrity: { checked: true, verifiedBytes: samples.reduce((n, s) => n + (s.raw?.verifiedBytes ?? 0), 0) },
    targets: targets.map(({ id, name, runtime, kind }) => ({ id, name, runtime, kind })),
    summary,
    abstractionCost: abstractionCost(samples),
    failures,
    samples,
  };
  // Each transport has files of its own, so a TLS run does not overwrite the TCP table.
  const name = opts.transport === "tcp" ? "bench" : `bench-${opts.transport}`;
  writeFileSync(`${outDir}/${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const over = { tcp: "", tls: " over TLS", unix: " over a Unix socket" }[opts.transport];
  const title = `twine echo benchmark${over}, ${env.date.slice(0, 10)}: ${env.cpu}, ${env.cores} cores; bun ${env.bun}, ${env.deno.split(" (")[0]}, node ${env.node}`;
  // Loaded here, not at the top: vega takes a second to load, which a mistyped flag should not wait for.
  const { chartSvg } = await import("./chart.ts");
  writeFileSync(`${outDir}/${name}.svg`, await chartSvg(summary, targets, title));
  const md = `${title}\n\n${table}\n`;
  writeFileSync(`${outDir}/${name}.md`, md);
  console.log(md);
  console.log(`Wrote ${out}/${name}.json, ${out}/${name}.svg and ${out}/${name}.md`);
  if (failures.length > 0) {
    for (const f of failures) console.error(`bench: FAILED ${f.target} / ${f.scenario} / rep ${f.rep}: ${f.errors.join("; ")}`);
    process.exit(1);
  }
}

await main();
