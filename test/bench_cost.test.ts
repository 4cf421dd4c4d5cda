// The paired run (`npm run bench -- --cost`): pairs added until the intervals converge, the
// scenarios it reads, and short runs of each kind of scenario with every byte checked.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, test } from "vitest";
import { buildNative } from "../bench/build.ts";
import { convergenceLine, type CostRow } from "../bench/cost_report.ts";
import { type CostScenario, parseScenarios } from "../bench/cost_scenarios.ts";
import { packageCommand } from "../bench/installed_package.ts";
import { type FigureSpec, measurePaired, oneAfterTheOther } from "../bench/paired.ts";
import { BINARIES } from "../tools/runtimes.ts";
import { run } from "./helpers/run.ts";

const out = mkdtempSync(`${tmpdir()}/twine-bench-cost-`);
const native = buildNative();

afterAll(() => rmSync(out, { recursive: true, force: true }));

const RATE: FigureSpec[] = [{ name: "rate", converge: true }];

/** A side whose rate is `base` times a factor that cycles through `noise`. */
function noisy(base: { a: number; b: number }, noise: number[]) {
  let i = 0;
  const order: string[] = [];
  const one = (side: "a" | "b") => {
    order.push(side);
    return Promise.resolve({ rate: base[side] * noise[i++ % noise.length]! });
  };
  return { one, measure: oneAfterTheOther(one), order };
}

describe("measurePaired", () => {
  test("alternates the sides A B, B A and stops at the first look when the ratios agree", async () => {
    const { measure, order } = noisy({ a: 98, b: 100 }, [1]);
    const r = await measurePaired(measure, RATE, { minPairs: 4, maxPairs: 50, within: 0.05 });
    expect(order).toEqual(["a", "b", "b", "a", "a", "b", "b", "a"]);
    expect(r).toMatchObject({ pairs: 4, starved: 0, converged: true, wide: [] });
    expect(r.figures.rate!.ratio).toEqual({ median: 0.98, low: 0.98, high: 0.98, n: 4 });
  });

  test("adds pairs while the interval is wider than the bound, and stops once it is within", async () => {
    // Each side drifts on its own: the ratios of neighbouring slices spread by about ±10%.
    const { measure } = noisy({ a: 100, b: 100 }, [1, 1.1, 0.95, 1.02, 0.9, 1.05, 1, 0.97]);
    const r = await measurePaired(measure, RATE, { minPairs: 4, maxPairs: 200, within: 0.05 });
    expect(r.converged).toBe(true);
    expect(r.pairs).toBeGreaterThan(4);
    expect(r.pairs).toBeLessThan(200);
    const { ratio } = r.figures.rate!;
    expect(ratio.high / ratio.median - 1).toBeLessThanOrEqual(0.05);
    expect(1 - ratio.low / ratio.median).toBeLessThanOrEqual(0.05);
  });

  test("stops at the cap and names the figures still wider than the bound", async () => {
    const { one } = noisy({ a: 100, b: 100 }, [1, 2, 0.5, 1.5, 0.7]);
    const specs: FigureSpec[] = [...RATE, { name: "steady", converge: true }, { name: "tail", converge: false }];
    const withSteady = async (side: "a" | "b") => ({ ...(await one(side)), steady: 5, tail: side === "a" ? 1 : 9 });
    const r = await measurePaired(oneAfterTheOther(withSteady), specs, { minPairs: 3, maxPairs: 6, within: 0.05 });
    expect(r).toMatchObject({ pairs: 6, converged: false, wide: ["rate"] });
    expect(r.figures.tail!.ratios).toHaveLength(6);
  });

  test("leaves out a pair in which a side measured nothing, and counts it as starved", async () => {
    let calls = 0;
    const measure = () => Promise.resolve(++calls === 3 ? undefined : { rate: 10 });
    const r = await measurePaired(oneAfterTheOther(measure), RATE, { minPairs: 3, maxPairs: 10, within: 0.05 });
    expect(r).toMatchObject({ pairs: 3, starved: 1, converged: true });
  });

  test("reports the paired difference where a figure asks for it", async () => {
    const { measure } = noisy({ a: 35, b: 15 }, [1]);
    const r = await measurePaired(measure, [{ name: "rate", converge: true, difference: true }], { minPairs: 2, maxPairs: 2, within: 0.05 });
    expect(r.figures.rate!.difference!.median).toBe(20);
  });
});

test("the convergence line names each ratio that did not converge, with how wide it stayed", () => {
  const scenario = parseScenarios(["stream"], ["tcp"]) as CostScenario[];
  const row = (converged: boolean): CostRow => ({
    comparison: "cost",
    a: "bun native",
    b: "bare bun",
    scenario: scenario[0]!,
    result: {
      pairs: 60,
      starved: 0,
      converged,
      wide: converged ? [] : ["rate"],
      figures: { rate: { ratios: [], a: [], b: [], ratio: { median: 1, low: 0.9, high: 1.073, n: 60 } } },
    },
  });
  expect(convergenceLine([row(true)], 0.05)).toBe("Every interval converged within ±5%.");
  expect(convergenceLine([row(true), row(false)], 0.05)).toBe("Not within ±5% at the cap: bun native vs bare bun stream (rate ±10.0%, 60 pairs).");
});

test("scenario names take a transport, which --transport supplies where they have none", () => {
  const ids = (names: string[], transports: ("tcp" | "tls" | "unix")[]) => (parseScenarios(names, transports) as CostScenario[]).map((s) => `${s.id}@${s.channel}`);
  expect(ids(["rr64", "tls:stream-256k", "handshake", "udp", "idle"], ["tcp"])).toEqual([
    "rr64@tcp",
    "tls:stream-256k@tls",
    "handshake@tls",
    "udp@udp",
    "idle@tcp",
  ]);
  expect(ids(["rr64", "unix:rr64", "startup"], ["tls", "unix"])).toEqual(["tls:rr64@tls", "unix:rr64@unix", "startup@tcp"]);
  expect(parseScenarios(["unix:handshake"], ["tcp"])).toMatch(/^Unknown cost scenario 'unix:handshake'/);
});

test("the installed package's start-up runs twine's and the bare server's JavaScript", () => {
  const pkg = { echo: "/p/node_modules/twine-net/dist/bin/echo.js", bare: { "bench/bare/bun.ts": "/p/bun.js" }, cleanup() {} };
  expect(packageCommand(["bun", "run", "bin/echo.ts", "--adapter", "native"], pkg)).toEqual(["bun", "run", pkg.echo, "--adapter", "native"]);
  expect(packageCommand(["bun", "run", "bench/bare/bun.ts"], pkg)).toEqual(["bun", "run", "/p/bun.js"]);
});

const cost = (args: string[]) =>
  run([BINARIES.node, "bench/run.ts", "--cost", "--pairs", "2", "--max-pairs", "2", "--slice", "0.2", "--warmup", "0.05", "--rss-runs", "0", "--out", out, ...args], undefined, 60_000);

interface Row {
  a: string;
  b: string;
  scenario: { id: string };
  result: { pairs: number; starved: number; figures: Record<string, { ratio: { median: number }; a: number[]; difference?: { median: number } }> };
}

test("rr64 prints p50, p99 and p99.9 ratios from the same slices as its rate, beside the small-window stream", async () => {
  const r = await cost(["--targets", "node", "--scenarios", "rr64,stream-256k"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const ratio = "[\\d.]+ \\[[\\d.]+, [\\d.]+\\]";
  expect(r.stdout.toString()).toMatch(new RegExp(`^\\| node vs bare node \\| rr64 \\| (${ratio} \\| ){5}2\\b`, "m"));
  expect(r.stdout.toString()).toMatch(new RegExp(`^\\| node vs bare node \\| stream-256k \\| (${ratio} \\| ){2}– \\| – \\| – \\|`, "m"));
  const json = JSON.parse(readFileSync(`${out}/cost.json`, "utf8"));
  expect(json.errors).toEqual([]);
  const [rr] = json.results as Row[];
  for (const name of ["rate", "cpu", "p50", "p99", "p999"]) expect(rr!.result.figures[name]!.a).toHaveLength(rr!.result.pairs);
});

test.skipIf(!native.tls)("handshake compares full TLS handshakes per second and the server's CPU per handshake", async () => {
  const r = await cost(["--targets", "node", "--scenarios", "handshake"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout.toString()).toMatch(/^\| node vs bare node \| handshake \| [\d.]+ \[[\d.]+, [\d.]+\] \| [\d.]+ \[.*\| [\d,.]+ handshakes\/s \| [\d,.]+ handshakes\/s \|$/m);
  const [row] = JSON.parse(readFileSync(`${out}/cost.json`, "utf8")).results as Row[];
  expect(row!.result.figures.rate!.a.every((x) => x > 0)).toBe(true);
  expect(row!.result.figures.cpu!.ratio.median).toBeGreaterThan(0);
});

test("startup and idle alternate fresh launches and print the difference with its interval", async () => {
  const r = await cost(["--targets", "node", "--scenarios", "startup,idle", "--idle", "300"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout.toString()).toMatch(/^\| node vs bare node \| startup \| [\d,.]+ ms \| [\d,.]+ ms \| [+−][\d.]+ \[[+−][\d.]+, [+−][\d.]+\] \| [\d.]+ \[/m);
  expect(r.stdout.toString()).toMatch(/^\| node vs bare node \| idle \| [\d,.]+ KiB\/conn \| [\d,.]+ KiB\/conn \| [+−]/m);
  const rows = JSON.parse(readFileSync(`${out}/cost.json`, "utf8")).results as Row[];
  expect(rows.map((x) => x.scenario.id)).toEqual(["startup", "idle"]);
  expect(rows[0]!.result.figures.ms!.a.every((ms) => ms > 0)).toBe(true);
});

test("A/B compares twine on two runtimes, over UDP too, and draws the chart", async () => {
  const r = await cost(["--targets", "bun/node", "--scenarios", "rr64,udp"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const stdout = r.stdout.toString();
  expect(stdout).toMatch(/^\| bun vs node \| rr64 \| [\d.]+ \[/m);
  expect(stdout).toMatch(/^\| bun vs node \| udp \| [\d.]+ \[.* \| [\d,]+ msg\/s \| [\d,]+ msg\/s \|$/m);
  expect(stdout).toMatch(/^\| scenario \| unit \| bun \| node \|$/m);
  expect(readFileSync(`${out}/runtimes.svg`, "utf8")).toMatch(/^<svg[\s\S]*UDP rr64/);
});

test.each([
  [["--pairs", "5", "--max-pairs", "3"], "bench: Invalid --max-pairs '3': expected at least --pairs (5)"],
  [["--within", "0"], "bench: Invalid --within '0': expected a number from 0.1 to 100"],
  [["--pairs", "2.5"], "bench: Invalid --pairs '2.5': expected a whole number of at least 2"],
  [["--turn", "0.001"], "bench: Invalid --turn '0.001': expected a number from 0.005 to 10"],
  [["--idle", "50000"], "bench: Invalid --idle '50000': expected a whole number from 1 to 19000"],
  [["--targets", "bun/bun"], "bench: Invalid target 'bun/bun': expected one twine target, or two different ones as A/B"],
  [["--targets", "bun/python"], "bench: Unknown twine target 'python': expected bun, bun-node, deno, deno-node or node, or two of them as A/B"],
  [["--scenarios", "tls:udp"], "bench: Unknown cost scenario 'tls:udp': expected [tcp:|tls:|unix:]rr64, stream or stream-256k, handshake, udp, startup, startup-package or idle"],
  [["--targets", "node", "--scenarios", "udp"], "bench: No scenario left to compare after --targets and --scenarios"],
])("--cost %j fails with one line and exit 2", async (args, message) => {
  const r = await run([BINARIES.node, "bench/run.ts", "--cost", ...args]);
  expect(r.stderr).toBe(`${message}\n`);
  expect(r.code).toBe(2);
});
