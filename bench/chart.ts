/** Renders the summary as an SVG: one panel per scenario, one bar per server, coloured by runtime. */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { Stat } from "./report.ts";
import type { Target } from "./targets.ts";

const PANELS: [scenario: string, metric: string, title: string][] = [
  ["rr1", "msgPerSec", "rr, 1 conn (msg/s)"],
  ["rr64", "msgPerSec", "rr, many conns (msg/s)"],
  ["stream", "MBps", "stream (MB/s)"],
  ["churn", "connPerSec", "churn (conn/s)"],
  ["idle", "KiBPerConn", "idle (KiB/conn, lower is better)"],
  ["startup", "startupMs", "start to first echo (ms, lower is better)"],
];

const COLOURS = { domain: ["bun", "deno", "node", "c", "python"], range: ["#f472b6", "#22c55e", "#3b82f6", "#6b7280", "#eab308"] };

export async function chartSvg(summary: Record<string, Record<string, Record<string, Stat>>>, targets: Target[], title: string): Promise<string> {
  const values = [];
  for (const t of targets) {
    for (const [scenario, metric, panel] of PANELS) {
      const s = summary[t.name]?.[scenario]?.[metric];
      if (s !== undefined) values.push({ panel, server: t.name, runtime: t.runtime, median: s.median, min: s.min, max: s.max });
    }
  }
  const order = targets.map((t) => t.name);
  const spec: vl.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    data: { values },
    facet: { field: "panel", type: "nominal", title: null, sort: PANELS.map((p) => p[2]) },
    columns: 3,
    spec: {
      width: 260,
      height: 180,
      layer: [
        {
          mark: "bar",
          encoding: {
            x: { field: "server", type: "nominal", sort: order, title: null, axis: { labelAngle: -40 } },
            y: { field: "median", type: "quantitative", title: null },
            color: { field: "runtime", type: "nominal", scale: COLOURS },
            opacity: { condition: { test: "indexof(datum.server, 'bare') === 0", value: 0.55 }, value: 1 },
          },
        },
        {
          mark: { type: "rule", color: "#111" },
          encoding: {
            x: { field: "server", type: "nominal", sort: order },
            y: { field: "min", type: "quantitative" },
            y2: { field: "max" },
          },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  };
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
