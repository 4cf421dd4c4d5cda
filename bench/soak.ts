/**
 * The soak: `npm run soak -- [options]` (or `deno task soak`). Runs the echo server
 * of each runtime x adapter pair under a repeating mix of load for a given time,
 * samples its memory and descriptors, and fails if a byte is lost, a server dies,
 * a descriptor leaks or memory does not level off.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { type Pair, PAIRS } from "../tools/runtimes.ts";
import { buildNative } from "./build.ts";
import { failWith, parseFlags } from "./cli.ts";
import { soakChartSvg } from "./soak_chart.ts";
import { MIX } from "./soak_mix.ts";
import { type PairRun, soakPair } from "./soak_pair.ts";
import { keptGrowing, type SoakSummary, summarize } from "./soak_verdict.ts";

const USAGE = `Usage: npm run soak -- [options]

Runs each pair's echo server under a repeating mix of load (${MIX.map((m) => m.name).join(", ")})
and checks every byte, the server's descriptors and that its memory levels off.

Options:
  --duration TIME     how long each pair runs: 90s, 2m, 1h (default 2m)
  --pairs LIST        comma-separated: ${Object.keys(pairIds()).join(", ")} (default: all)
  --concurrent        run the pairs at the same time instead of one after another
  --tuned             run Node and Deno as docs/soak.md recommends for servers that move bulk
                      data: --max-semi-space-size=1 and MALLOC_MMAP_THRESHOLD_=32768
  --interval SECONDS  between samples (default: duration / 300, at least 1)
  --warmup TIME       left out of the plateau check (default: a tenth of the duration, at least 10s,
                      at most a third)
  --max-growth X      fail if the last third's median RSS exceeds the first third's by more than X
                      and the middle third's by more than X/2 (default 0.25)
  --max-rss MB        fail if peak RSS exceeds this (default 300)
  --max-ratio X       fail if deno node:net's last-third median RSS exceeds X times deno native's
                      (default 2)
  --server SCRIPT     the server to soak, started like bin/echo.ts (default bin/echo.ts)
  --out DIR           where soak.json and soak.svg go (default bench/results/soak)
  -h, --help          show this help`;

/**
 * What --tuned adds to each V8 runtime's command (see docs/soak.md): V8 frees a garbage
 * ArrayBuffer only at a scavenge, which a 1 MB young generation runs often; and glibc
 * keeps freed 64 KiB read buffers in its heap unless buffers that size get their own
 * mapping, which it unmaps on free.
 */
const TUNING: Record<Pair["runtime"], { prefix: string[]; runtimeArgs: string[] }> = {
  bun: { prefix: [], runtimeArgs: [] },
  deno: { prefix: ["env", "MALLOC_MMAP_THRESHOLD_=32768"], runtimeArgs: ["--v8-flags=--max-semi-space-size=1"] },
  node: { prefix: ["env", "MALLOC_MMAP_THRESHOLD_=32768"], runtimeArgs: ["--max-semi-space-size=1"] },
};

function pairIds(): Record<string, string> {
  return { bun: "bun native", "bun-node": "bun node:net", deno: "deno native", "deno-node": "deno node:net", node: "node" };
}

// Annotated, so that TypeScript knows code after a call to it does not run.
const fail: (message: string) => never = failWith("soak");

/** @returns Seconds, from "90", "90s", "2m", "1h" or "1.5h". */
function parseTime(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text);
  const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? "s") as "s" | "m" | "h"] : NaN;
  if (!(seconds > 0)) fail(`Invalid ${flag} '${text}': expected a time such as 90s, 2m or 1h`);
  return seconds;
}

function parseNumber(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(n > 0)) fail(`Invalid ${flag} '${text}': expected a positive number`);
  return n;
}

function parse() {
  const values = parseFlags(
    {
      duration: { type: "string", default: "2m" },
      pairs: { type: "string" },
      concurrent: { type: "boolean", default: false },
      tuned: { type: "boolean", default: false },
      interval: { type: "string" },
      warmup: { type: "string" },
      "max-growth": { type: "string" },
      "max-rss": { type: "string" },
      "max-ratio": { type: "string" },
      server: { type: "string", default: "bin/echo.ts" },
      out: { type: "string", default: "bench/results/soak" },
    },
    USAGE,
    fail,
  );
  const duration = parseTime("--duration", values.duration);
  const ids = pairIds();
  const wanted = values.pairs?.split(",") ?? Object.keys(ids);
  for (const id of wanted) if (!(id in ids)) fail(`Unknown pair '${id}': expected ${Object.keys(ids).join(", ")}`);
  return {
    duration,
    pairs: PAIRS.filter((p) => wanted.some((id) => ids[id] === p.name)),
    concurrent: values.concurrent,
    tuned: values.tuned,
    interval: parseNumber("--interval", values.interval, Math.max(1, Math.round(duration / 300))),
    warmup: values.warmup === undefined ? Math.min(Math.max(10, duration / 10), duration / 3) : parseTime("--warmup", values.warmup),
    maxGrowth: parseNumber("--max-growth", values["max-growth"], 0.25),
    maxRss: parseNumber("--max-rss", values["max-rss"], 300),
    maxRatio: parseNumber("--max-ratio", values["max-ratio"], 2),
    server: values.server,
    out: values.out,
  };
}

function table(runs: readonly PairRun[], summaries: readonly SoakSummary[]): string {
  const rows = [
    "| pair | start MB | peak MB | end MB | slope of last half, MB/min | first → middle → last third median, MB | growth | peak heap MB | fds after round 1 → end | verified GB | verdict |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  runs.forEach((r, i) => {
    const s = summaries[i]!;
    const n = (x: number) => (Number.isNaN(x) ? "–" : String(x));
    rows.push(
      `| ${r.pair} | ${s.startMB} | ${s.peakMB} | ${s.endMB} | ${s.slopeMBPerMin} | ${n(s.firstThirdMB)} → ${n(s.middleThirdMB)} → ${n(s.lastThirdMB)} | ${n(s.growth)}x | ${s.peakHeapMB ?? "–"} | ${r.fdsBaseline} → ${r.fdsEnd} | ${(r.verifiedBytes / 1e9).toFixed(1)} | ${r.failures.length ? "FAIL" : "ok"} |`,
    );
  });
  return rows.join("\n");
}

async function main(): Promise<void> {
  const opts = parse();
  let loadgen: string;
  try {
    loadgen = buildNative().loadgen;
  } catch (error) {
    console.error(`soak: ${(error as Error).message}`);
    process.exit(1);
  }
  const progress = (line: string) => console.error(`soak: ${line}`);
  const started = new Date();
  const one = (pair: (typeof opts.pairs)[number]) => {
    progress(`${pair.name}: ${opts.duration} s of the mix`);
    const tuning = opts.tuned ? TUNING[pair.runtime] : { prefix: [], runtimeArgs: [] };
    return soakPair(pair, { duration: opts.duration, interval: opts.interval, loadgen, ...tuning, server: opts.server, progress });
  };
  const runs: PairRun[] = [];
  if (opts.concurrent) runs.push(...(await Promise.all(opts.pairs.map(one))));
  else for (const pair of opts.pairs) runs.push(await one(pair));
  const summaries = runs.map((r) => summarize(r.samples, opts.warmup));
  // Judged per run before the table, so that its verdict column shows these too.
  runs.forEach((r, i) => {
    const s = summaries[i]!;
    if (r.failures.length > 0 || r.samples.length < 3) return;
    if (keptGrowing(s, opts.maxGrowth)) {
      r.failures.push(
        `${r.pair}: memory did not level off: last third's median ${s.lastThirdMB} MB is ${s.growth}x the first third's ${s.firstThirdMB} MB and ${s.lateGrowth}x the middle third's ${s.middleThirdMB} MB`,
      );
    }
    if (s.peakMB > opts.maxRss) r.failures.push(`${r.pair}: peak RSS ${s.peakMB} MB is above ${opts.maxRss} MB`);
  });
  const failures = runs.flatMap((r) => r.failures);
  const at = (name: string) => summaries[runs.findIndex((r) => r.pair === name)];
  const native = at("deno native");
  const compat = at("deno node:net");
  // The level memory settles at, not a one-sample spike: the peak has its own bound above.
  if (native && compat && compat.lastThirdMB > opts.maxRatio * native.lastThirdMB) {
    failures.push(
      `deno node:net: last third's median RSS ${compat.lastThirdMB} MB is above ${opts.maxRatio}x deno native's ${native.lastThirdMB} MB`,
    );
  }
  const markdown = table(runs, summaries);
  console.log(markdown);
  mkdirSync(opts.out, { recursive: true });
  const title = `twine soak: ${opts.duration} s per pair${opts.concurrent ? ", pairs concurrently" : ""}${opts.tuned ? ", tuned" : ""}, ${os.availableParallelism()} CPUs, ${started.toISOString().slice(0, 16)}Z`;
  const { out: _out, pairs, ...options } = opts;
  writeFileSync(
    `${opts.out}/soak.json`,
    `${JSON.stringify({ title, started: started.toISOString(), options: { ...options, pairs: pairs.map((p) => p.name) }, mix: MIX, failures, runs: runs.map((r, i) => ({ ...r, summary: summaries[i] })) }, null, 1)}\n`,
  );
  writeFileSync(`${opts.out}/soak.md`, `${markdown}\n`);
  writeFileSync(`${opts.out}/soak.svg`, await soakChartSvg(runs, title));
  console.error(`soak: wrote ${opts.out}/soak.json, soak.md and soak.svg`);
  if (failures.length > 0) {
    for (const f of failures) console.error(`soak: ${f}`);
    process.exit(1);
  }
}

await main();
