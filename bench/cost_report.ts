/**
 * The paired run's tables: ratios with their 95% intervals, how many pairs each needed, the
 * line that names what did not converge, and each runtime's absolute figures.
 *
 * @module
 */
import { type CostScenario, rateUnit } from "./cost_scenarios.ts";
import { type PairedResult, sideMedian } from "./paired.ts";
import { type Interval, median, relativeHalfWidth } from "./stats.ts";

/** One scenario of one comparison. */
export interface CostRow {
  /** cost: twine against the bare server of its runtime; runtimes: twine on one runtime against twine on another. */
  comparison: "cost" | "runtimes";
  /** The two sides as printed: "bun native" and "bare bun", or "bun" and "node". */
  a: string;
  b: string;
  scenario: CostScenario;
  result: PairedResult;
}

/** Peak memory of fresh servers under one transport's rr64 and stream, one value per run. */
export interface PeakRow {
  a: string;
  b: string;
  transport: string;
  peakRssMB: { a: Record<string, number[]>; b: Record<string, number[]> };
}

const line = (cells: string[]) => `| ${cells.join(" | ")} |`;

function table(header: string[], rows: string[][]): string {
  return [line(header), line(header.map((_, i) => (i < 2 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

/** `0.985 [0.976, 0.991]`, or – without values. */
export function ratioCell(i: Interval | undefined): string {
  return i === undefined || Number.isNaN(i.median) ? "–" : `${i.median.toFixed(3)} [${i.low.toFixed(3)}, ${i.high.toFixed(3)}]`;
}

const signed = (v: number, digits: number) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(digits)}`;

/** `+19.8 [17.2, 22.0]`, or – without values. */
function differenceCell(i: Interval | undefined): string {
  return i === undefined || Number.isNaN(i.median) ? "–" : `${signed(i.median, 1)} [${signed(i.low, 1)}, ${signed(i.high, 1)}]`;
}

/** A figure in its unit, rounded as a table reads it. */
export function amount(v: number): string {
  if (!Number.isFinite(v)) return "–";
  if (v >= 1000) return Math.round(v).toLocaleString("en-US");
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function pairsCell(r: PairedResult, within: number): string {
  const starved = r.starved > 0 ? ` (+${r.starved} starved)` : "";
  return `${r.pairs}${starved}${r.converged ? "" : `, not within ±${(within * 100).toFixed(0)}%`}`;
}

function side(row: CostRow, which: "a" | "b"): string {
  const { unit, scale } = rateUnit(row.scenario);
  const name = row.scenario.launch ? Object.keys(row.result.figures)[0]! : "rate";
  return `${amount(sideMedian(row.result.figures[name], which) * scale)} ${unit}`;
}

const heading = (comparison: CostRow["comparison"]) => (comparison === "cost" ? "twine vs bare" : "twine on … vs twine on …");

/**
 * The slice scenarios of one kind of comparison: the rate ratio, the server's CPU per unit
 * (message, byte, handshake) and, for rr64, the latency percentiles, each A over B.
 *
 * @param rows Every row of the run.
 * @param comparison Which comparisons to print.
 * @param within The convergence bound, as a fraction.
 * @returns The Markdown table, or "" without such rows.
 */
export function sliceTable(rows: readonly CostRow[], comparison: CostRow["comparison"], within: number): string {
  const mine = rows.filter((r) => r.comparison === comparison && !r.scenario.launch);
  if (mine.length === 0) return "";
  const a = comparison === "cost" ? "twine" : "first";
  const b = comparison === "cost" ? "bare" : "second";
  return table(
    [heading(comparison), "scenario", "rate", "CPU per unit", "p50", "p99", "p99.9", "pairs", a, b],
    mine.map((r) => {
      const f = r.result.figures;
      return [`${r.a} vs ${r.b}`, r.scenario.id, ratioCell(f.rate?.ratio), ratioCell(f.cpu?.ratio), ratioCell(f.p50?.ratio), ratioCell(f.p99?.ratio), ratioCell(f.p999?.ratio), pairsCell(r.result, within), side(r, "a"), side(r, "b")];
    }),
  );
}

/**
 * The launch scenarios (start-up, idle memory): each side's median, the paired difference
 * and the ratio, each with its interval.
 *
 * @param rows Every row of the run.
 * @param comparison Which comparisons to print.
 * @param within The convergence bound, as a fraction.
 * @returns The Markdown table, or "" without such rows.
 */
export function launchTable(rows: readonly CostRow[], comparison: CostRow["comparison"], within: number): string {
  const mine = rows.filter((r) => r.comparison === comparison && r.scenario.launch);
  if (mine.length === 0) return "";
  const a = comparison === "cost" ? "twine" : "first";
  const b = comparison === "cost" ? "bare" : "second";
  return table(
    [heading(comparison), "scenario", a, b, "difference", "ratio", "pairs"],
    mine.map((r) => {
      const f = Object.values(r.result.figures)[0]!;
      return [`${r.a} vs ${r.b}`, r.scenario.id, side(r, "a"), side(r, "b"), differenceCell(f.difference), ratioCell(f.ratio), pairsCell(r.result, within)];
    }),
  );
}

/**
 * Peak resident memory of fresh servers, twine against bare.
 *
 * @param peaks One row per comparison and transport.
 * @returns The Markdown table, or "" without peaks.
 */
export function peakTable(peaks: readonly PeakRow[]): string {
  const rows = peaks.filter((p) => Object.values(p.peakRssMB.a).some((v) => v.length > 0));
  if (rows.length === 0) return "";
  const cell = (p: PeakRow, kind: string) => {
    const t = p.peakRssMB.a[kind] ?? [];
    const b = p.peakRssMB.b[kind] ?? [];
    if (t.length === 0 || b.length === 0) return "–";
    const d = median(t) - median(b);
    return `${median(t).toFixed(0)} vs ${median(b).toFixed(0)} (${signed(d, 1)})`;
  };
  return table(
    ["twine vs bare", "transport", "peak RSS rr64 MB", "peak RSS stream MB"],
    rows.map((p) => [`${p.a} vs ${p.b}`, p.transport, cell(p, "rr64"), cell(p, "stream")]),
  );
}

/**
 * Each runtime's median rate in each scenario of the cross-runtime comparisons, over every
 * slice it served in them: the absolute figures beside the ratios.
 *
 * @param rows Every row of the run.
 * @returns The Markdown table, or "" without cross-runtime rows.
 */
export function absoluteTable(rows: readonly CostRow[]): string {
  const mine = rows.filter((r) => r.comparison === "runtimes" && !r.scenario.launch);
  if (mine.length === 0) return "";
  const labels = [...new Set(mine.flatMap((r) => [r.a, r.b]))];
  const scenarios = [...new Map(mine.map((r) => [r.scenario.id, r.scenario])).values()];
  return table(
    ["scenario", "unit", ...labels],
    scenarios.map((s) => {
      const { unit, scale } = rateUnit(s);
      return [s.id, unit, ...labels.map((label) => {
        const values = mine
          .filter((r) => r.scenario.id === s.id)
          .flatMap((r) => [...(r.a === label ? r.result.figures.rate!.a : []), ...(r.b === label ? r.result.figures.rate!.b : [])]);
        return values.length === 0 ? "–" : amount(median(values) * scale);
      })];
    }),
  );
}

/**
 * One line on convergence: which ratios stayed wider than the bound, with how wide, or
 * that every one converged.
 *
 * @param rows Every row of the run.
 * @param within The bound, as a fraction.
 * @returns The line.
 */
export function convergenceLine(rows: readonly CostRow[], within: number): string {
  const bound = `±${(within * 100).toFixed(0)}%`;
  const wide = rows.filter((r) => !r.result.converged).map((r) => {
    const which = r.result.wide.map((name) => `${name} ±${(relativeHalfWidth(r.result.figures[name]!.ratio) * 100).toFixed(1)}%`);
    const few = r.result.wide.length === 0 ? "too few pairs: most slices starved" : which.join(", ");
    return `${r.a} vs ${r.b} ${r.scenario.id} (${few}, ${r.result.pairs} pair${r.result.pairs === 1 ? "" : "s"})`;
  });
  if (wide.length === 0) return `Every interval converged within ${bound}.`;
  return `Not within ${bound} at the cap: ${wide.join("; ")}.`;
}
