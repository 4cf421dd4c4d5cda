/** Renders the soak's memory over time as one SVG: RSS (solid) and JavaScript heap used (dashed), per pair; soak.json keeps the rest. */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { PairRun } from "./soak_pair.ts";

const MB = 1024 * 1024;

/**
 * @param runs Every pair's samples.
 * @param title The chart's title.
 * @returns The SVG text.
 */
export async function soakChartSvg(runs: readonly PairRun[], title: string): Promise<string> {
  const values = runs.flatMap((r) =>
    r.samples.flatMap((s) => [
      { pair: r.pair, minutes: s.t / 60, MB: s.rss / MB, measure: "RSS" },
      ...(s.heapUsed === undefined ? [] : [{ pair: r.pair, minutes: s.t / 60, MB: s.heapUsed / MB, measure: "heap used" }]),
    ])
  );
  const spec: vl.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 720,
    height: 360,
    data: { values },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: { field: "minutes", type: "quantitative", title: "minutes" },
      y: { field: "MB", type: "quantitative", title: "MB" },
      color: { field: "pair", type: "nominal", sort: runs.map((r) => r.pair), title: null },
      strokeDash: { field: "measure", type: "nominal", title: null, sort: ["RSS", "heap used"] },
      detail: [{ field: "pair" }, { field: "measure" }],
    },
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
