/** Turns raw runs into medians with spread, Markdown tables and the abstraction cost. */
import type { ScenarioRun } from "./measure.ts";
import type { ScenarioName } from "./scenarios.ts";
import { median } from "./stats.ts";
import { NATIVE_OF, type Target } from "./targets.ts";

/** One repetition of one scenario on one target. */
export interface Sample {
  target: string;
  runtime: string;
  kind: Target["kind"];
  scenario: ScenarioName;
  rep: number;
  metrics: Record<string, number>;
  errors: string[];
  raw?: ScenarioRun;
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

const MiB = 1024 * 1024;

/** The figures a scenario run yields, by name. */
export function metricsOf(scenario: ScenarioName, run: ScenarioRun, connections: number): Record<string, number> {
  const m: Record<string, number> = {};
  const put = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) m[k] = v;
  };
  const lat = run.latencyUs;
  if (scenario === "rr1" || scenario === "rr64") {
    put("msgPerSec", run.operations / run.seconds);
    put("p50us", lat?.p50);
    put("p90us", lat?.p90);
    put("p99us", lat?.p99);
    put("p999us", lat?.p999);
    if (run.serverCpu !== undefined) put("cpuSecPerMillionMsg", run.serverCpu / (run.operations / 1e6));
  } else if (scenario === "udp") {
    put("msgPerSec", run.operations / run.seconds);
    put("p50us", lat?.p50);
    put("p99us", lat?.p99);
    if (run.sent !== undefined && run.lost !== undefined && run.sent > 0) put("lossPct", (run.lost / run.sent) * 100);
    if (run.sent !== undefined && run.late !== undefined && run.sent > 0) put("latePct", (run.late / run.sent) * 100);
    if (run.serverCpu !== undefined) put("cpuSecPerMillionMsg", run.serverCpu / (run.operations / 1e6));
  } else if (scenario === "stream") {
    put("MBps", run.bytes / run.seconds / 1e6);
    if (run.serverCpu !== undefined) put("cpuSecPerGB", run.serverCpu / (run.bytes / 1e9));
  } else if (scenario === "churn") {
    put("connPerSec", run.operations / run.seconds);
    put("p50us", lat?.p50);
    put("p99us", lat?.p99);
  } else if (scenario === "idle" && run.rssHolding !== undefined && run.rssBefore !== undefined) {
    put("KiBPerConn", (run.rssHolding - run.rssBefore) / connections / 1024);
    put("rssHoldingMB", run.rssHolding / MiB);
  }
  if (scenario !== "idle") {
    put("loadgenCores", run.loadgenCpu);
    if (run.serverCpu !== undefined && run.seconds > 0) put("serverCores", run.serverCpu / run.seconds);
    if (run.peakRss !== undefined) put("peakRssMB", run.peakRss / MiB);
  }
  return m;
}

/** Median, min and max of each metric over the repetitions that did not fail. */
export function summarize(samples: Sample[]): Record<string, Record<string, Record<string, Stat>>> {
  const out: Record<string, Record<string, Record<string, Stat>>> = {};
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    if (s.errors.length > 0) continue;
    const key = `${s.target}\u0000${s.scenario}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const [key, group] of groups) {
    const [target, scenario] = key.split("\u0000") as [string, string];
    const byMetric: Record<string, Stat> = {};
    for (const name of new Set(group.flatMap((s) => Object.keys(s.metrics)))) {
      const values = group.map((s) => s.metrics[name]).filter((v): v is number => v !== undefined);
      byMetric[name] = { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
    }
    (out[target] ??= {})[scenario] = byMetric;
  }
  return out;
}

type Summary = ReturnType<typeof summarize>;

function fmt(v: number): string {
  if (v >= 1000) return Math.round(v).toLocaleString("en-US");
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function cell(summary: Summary, failed: Set<string>, target: string, scenario: string, metric: string): string {
  if (failed.has(`${target}\u0000${scenario}`)) return "**FAILED**";
  const s = summary[target]?.[scenario]?.[metric];
  if (s === undefined) return "–";
  if (s.n < 2 || s.median === 0) return fmt(s.median);
  const spread = ((s.max - s.min) / s.median) * 100;
  return `${fmt(s.median)} ±${spread < 10 ? spread.toFixed(1) : spread.toFixed(0)}%`;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

/** Markdown tables of speed, efficiency and the abstraction cost. */
export function markdown(summary: Summary, targets: Target[], samples: Sample[], connections: number): string {
  const failed = new Set(samples.filter((s) => s.errors.length > 0).map((s) => `${s.target}\u0000${s.scenario}`));
  const names = targets.map((t) => t.name);
  const c = (t: string, sc: string, m: string) => cell(summary, failed, t, sc, m);
  const speed = table(
    ["server", "rr 1 conn msg/s", "rr 1 conn p99 µs", `rr ${connections} conn msg/s`, "p50 µs", "p99 µs", "p99.9 µs", "stream MB/s", "churn conn/s", "start to first echo ms"],
    names.map((t) => [
      t,
      c(t, "rr1", "msgPerSec"),
      c(t, "rr1", "p99us"),
      c(t, "rr64", "msgPerSec"),
      c(t, "rr64", "p50us"),
      c(t, "rr64", "p99us"),
      c(t, "rr64", "p999us"),
      c(t, "stream", "MBps"),
      c(t, "churn", "connPerSec"),
      c(t, "startup", "startupMs"),
    ]),
  );
  const efficiency = table(
    ["server", "peak RSS rr MB", "peak RSS stream MB", "idle KiB/conn", "CPU s per M msg", "CPU s per GB", "server cores (rr)", "loadgen cores (rr)"],
    names.map((t) => [
      t,
      c(t, "rr64", "peakRssMB"),
      c(t, "stream", "peakRssMB"),
      c(t, "idle", "KiBPerConn"),
      c(t, "rr64", "cpuSecPerMillionMsg"),
      c(t, "stream", "cpuSecPerGB"),
      c(t, "rr64", "serverCores"),
      c(t, "rr64", "loadgenCores"),
    ]),
  );
  const udpRows = names.filter((t) => samples.some((s) => s.target === t && s.scenario === "udp"));
  const udp = udpRows.length === 0 ? "" : table(
    ["server", `udp ${connections} sockets msg/s`, "lost %", "late %", "p50 µs", "p99 µs", "CPU s per M msg", "peak RSS MB"],
    udpRows.map((t) => [
      t,
      c(t, "udp", "msgPerSec"),
      c(t, "udp", "lossPct"),
      c(t, "udp", "latePct"),
      c(t, "udp", "p50us"),
      c(t, "udp", "p99us"),
      c(t, "udp", "cpuSecPerMillionMsg"),
      c(t, "udp", "peakRssMB"),
    ]),
  );
  const cost = abstractionCost(samples);
  const costTable = cost.length === 0 ? "" : table(
    ["runtime", "native adapter vs bare, rr msg/s", "stream MB/s", "peak RSS rr, MB more", "peak RSS stream, MB more"],
    cost.map((r) => [r.runtime, pct(r.rr), pct(r.stream), mb(r.rssRr), mb(r.rssStream)]),
  );
  // A run of the udp scenario alone would otherwise print two tables of dashes.
  const tcp = samples.some((s) => s.scenario !== "udp");
  return [
    ...(tcp ? ["### Speed (median over repetitions, ± is (max − min) / median)", speed, "", "### Efficiency (server process; CPU is user + system)", efficiency] : []),
    ...(udp ? ["", "### UDP request/response (64-byte datagrams, one in flight per socket; lost: never echoed; late: echoed after the 200 ms the load generator waits)", udp] : []),
    ...(costTable ? ["", "### Cost of the abstraction (native adapter against the bare server on the same runtime; median of per-repetition ratios)", costTable] : []),
  ].join("\n");
}

const pct = (v: number | undefined) => (v === undefined ? "–" : `${v >= 0 ? "+" : ""}${v.toFixed(1)}%`);
const mb = (v: number | undefined) => (v === undefined ? "–" : `${v >= 0 ? "+" : ""}${v.toFixed(1)}`);

export interface Cost {
  runtime: string;
  /** Percent change of the native adapter against bare (negative is slower). */
  rr?: number;
  stream?: number;
  /** Extra peak RSS in MB. */
  rssRr?: number;
  rssStream?: number;
}

/**
 * For each runtime with both rows, how the native adapter compares with the bare
 * server: the median over repetitions of the ratio within each repetition, since
 * the two ran back to back and share that moment's noise.
 */
export function abstractionCost(samples: Sample[]): Cost[] {
  const out: Cost[] = [];
  const ok = samples.filter((s) => s.errors.length === 0);
  const paired = (target: string, bare: string, scenario: string, metric: string, f: (a: number, b: number) => number) => {
    const values: number[] = [];
    for (const a of ok) {
      if (a.target !== target || a.scenario !== scenario || a.metrics[metric] === undefined) continue;
      const b = ok.find((s) => s.target === bare && s.scenario === scenario && s.rep === a.rep);
      if (b?.metrics[metric] !== undefined) values.push(f(a.metrics[metric]!, b.metrics[metric]!));
    }
    return values.length > 0 ? median(values) : undefined;
  };
  const ratio = (a: number, b: number) => (a / b - 1) * 100;
  const diff = (a: number, b: number) => a - b;
  for (const [runtime, native] of Object.entries(NATIVE_OF)) {
    const bare = `bare ${runtime}`;
    if (!ok.some((s) => s.target === native) || !ok.some((s) => s.target === bare)) continue;
    out.push({
      runtime,
      rr: paired(native, bare, "rr64", "msgPerSec", ratio),
      stream: paired(native, bare, "stream", "MBps", ratio),
      rssRr: paired(native, bare, "rr64", "peakRssMB", diff),
      rssStream: paired(native, bare, "stream", "peakRssMB", diff),
    });
  }
  return out;
}
