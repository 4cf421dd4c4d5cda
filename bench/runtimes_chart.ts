/**
 * The chart that answers "which runtime, and by how much": for each scenario, the ratio of
 * twine's rate on one runtime to its rate on another, with its 95% interval, on a log scale
 * around 1 (right of the line: the first runtime is faster).
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { CostRow } from "./cost_report.ts";
import { scenarioLabel } from "./cost_scenarios.ts";

/**
 * Renders the cross-runtime rows' rate ratios to SVG.
 *
 * @param rows Every row of the run; only cross-runtime slice scenarios are drawn.
 * @param title The chart's title: the date, the machine and the runtimes' versions.
 * @returns The SVG, or undefined without cross-runtime rows.
 */
export async function runtimesChartSvg(rows: readonly CostRow[], title: string | string[]): Promise<string | undefined> {
  const mine = rows.filter((r) => r.comparison === "runtimes" && !r.scenario.launch && r.result.figures.rate?.ratio.n);
  if (mine.length === 0) return undefined;
  const values = mine.map((r) => {
    const i = r.result.figures.rate!.ratio;
    return {
      scenario: scenarioLabel(r.scenario),
      pair: `${r.a} / ${r.b}`,
      median: i.median,
      low: i.low,
      high: i.high,
      label: `${i.median.toFixed(2)}${r.result.converged ? "" : "*"}`,
    };
  });
  const scenarios = [...new Set(values.map((v) => v.scenario))];
  const pairs = [...new Set(values.map((v) => v.pair))];
  const lo = Math.min(0.5, ...values.map((v) => v.low)) * 0.9;
  const hi = Math.max(2, ...values.map((v) => v.high)) * 1.1;
  const x = { type: "quantitative" as const, scale: { type: "log" as const, domain: [lo, hi] } };
  const y = { field: "scenario", type: "nominal" as const, sort: scenarios, title: null };
  const yOffset = { field: "pair", type: "nominal" as const, sort: pairs };
  const color = { field: "pair", type: "nominal" as const, sort: pairs, title: "twine on A / twine on B", scale: { range: ["#f472b6", "#22c55e", "#a855f7", "#3b82f6", "#f59e0b"] } };
  const spec: vl.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, anchor: "start", subtitle: "Right of the dashed line: A is faster. * : the interval did not get within the run's bound before its cap." },
    width: 560,
    height: { step: 16 },
    data: { values },
    layer: [
      { mark: { type: "rule", color: "#111", strokeDash: [4, 3] }, data: { values: [{ one: 1 }] }, encoding: { x: { field: "one", ...x } } },
      {
        mark: { type: "rule", strokeWidth: 2 },
        encoding: { y, yOffset, color, x: { field: "low", ...x, title: "rate of the first / rate of the second (log scale; 1: the same; bars: 95% interval)" }, x2: { field: "high" } },
      },
      { mark: { type: "point", filled: true, size: 50 }, encoding: { y, yOffset, color, x: { field: "median", ...x } } },
      { mark: { type: "text", dx: 4, align: "left", baseline: "middle", fontSize: 10 }, encoding: { y, yOffset, x: { field: "high", ...x }, text: { field: "label" } } },
    ],
    config: { axisY: { labelFontSize: 12, labelLimit: 260 }, legend: { titleLimit: 300, labelLimit: 300 } },
  };
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
