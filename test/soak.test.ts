import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, expect, test } from "vitest";
import { keptGrowing, type SoakSample, summarize } from "../bench/soak_verdict.ts";
import { ROOT } from "../tools/runtimes.ts";

const out = mkdtempSync(`${tmpdir()}/twine-soak-test-`);
afterAll(() => rmSync(out, { recursive: true, force: true }));

const MB = 1024 * 1024;
const series = (f: (t: number) => number): SoakSample[] =>
  Array.from({ length: 60 }, (_, t) => ({ t, rss: f(t) * MB, fds: 10 }));

async function soak(args: string[], env: Record<string, string> = {}) {
  const child = spawn(`${ROOT}node_modules/.bin/node`, ["bench/soak.ts", "--out", out, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

test("a flat memory series has grown 1x with no slope; a rising one is caught by its thirds", () => {
  const flat = summarize(series(() => 100), 10);
  expect(flat.growth).toBe(1);
  expect(flat.slopeMBPerMin).toBe(0);
  const rising = summarize(series((t) => 100 + 2 * t), 10);
  expect(rising.growth).toBeGreaterThan(1.25);
  expect(rising.slopeMBPerMin).toBe(120);
  expect(rising.peakMB).toBe(218);
});

test("a server that reaches its level late has levelled off; a steady leak has not", () => {
  // Deno native on a busy machine in CI: 118 MB until a young-generation step at a quarter
  // of the run, then flat at 176 MB.
  const late = summarize(series((t) => (t < 25 ? 118 : 176)), 10);
  expect(late.growth).toBeGreaterThan(1.25);
  expect(keptGrowing(late, 0.25)).toBe(false);
  // Half again over the settled part of the run, at a constant rate.
  const leak = summarize(series((t) => 100 + t), 10);
  expect(keptGrowing(leak, 0.25)).toBe(true);
  expect(keptGrowing(summarize(series(() => 100), 10), 0.25)).toBe(false);
});

test("a warm-up that leaves fewer than three samples gives no plateau verdict", () => {
  const s = summarize(series(() => 100), 59);
  expect(s.growth).toBeNaN();
});

test.each([
  [["--duration", "2x"], "soak: Invalid --duration '2x': expected a time such as 90s, 2m or 1h"],
  [["--pairs", "node,foo"], "soak: Unknown pair 'foo': expected bun, bun-node, deno, deno-node, node"],
  [["--max-growth", "abc"], "soak: Invalid --max-growth 'abc': expected a positive number"],
  [["--bogus"], "soak: Unknown option '--bogus' (see --help)"],
])("soak %j fails with one line and exit 2", async (args, message) => {
  const r = await soak(args);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(`${message}\n`);
});

test("a short soak of the node echo server checks bytes and descriptors and writes a table, JSON and SVG", async () => {
  // Twelve seconds are too few to judge a plateau: that check has its own test below.
  const r = await soak(["--duration", "12s", "--pairs", "node", "--max-growth", "10", "--max-rss", "2000"]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^\| node \| [\d.]+ \| [\d.]+ \|/m);
  const json = JSON.parse(readFileSync(`${out}/soak.json`, "utf8"));
  const run = json.runs[0];
  expect(run.pair).toBe("node");
  expect(run.failures).toEqual([]);
  expect(run.steps).toBeGreaterThanOrEqual(6);
  expect(run.verifiedBytes).toBeGreaterThan(10_000_000);
  expect(run.fdsEnd).toBeLessThanOrEqual(run.fdsBaseline);
  expect(run.samples.length).toBeGreaterThan(8);
  expect(run.samples.some((s: SoakSample) => (s.heapUsed ?? 0) > 0)).toBe(true);
  expect(readFileSync(`${out}/soak.svg`, "utf8")).toMatch(/^<svg/);
});

test("the soak catches a server that corrupts a byte", async () => {
  const r = await soak(["--duration", "4s", "--pairs", "node", "--server", "test/fixtures/corrupt_echo.ts"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^soak: node: rr 50x64B at \d+ s: echo mismatch/m);
});

test("the soak catches a server that leaks descriptors", async () => {
  const r = await soak(["--duration", "25s", "--pairs", "node", "--server", "test/fixtures/leaky_echo.ts"], { TWINE_LEAK: "fds" });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^soak: node: \d+ descriptors leaked \(\d+ after the first round, \d+ at the end\)$/m);
});

test("the soak catches memory that keeps growing", async () => {
  const r = await soak(["--duration", "15s", "--pairs", "node", "--server", "test/fixtures/leaky_echo.ts"], { TWINE_LEAK: "memory" });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^soak: node: memory did not level off: last third's median [\d.]+ MB is [\d.]+x the first third's/m);
});
