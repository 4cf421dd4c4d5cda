import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, expect, test } from "vitest";
import { PAIRS, ROOT } from "../tools/runtimes.ts";
import { startServer } from "../tools/server_process.ts";
import { run } from "./helpers/run.ts";

const out = mkdtempSync(`${tmpdir()}/twine-bench-test-`);

afterAll(() => rmSync(out, { recursive: true, force: true }));

async function bench(args: string[]) {
  const child = spawn(`${ROOT}node_modules/.bin/node`, ["bench/run.ts", "--quick", "--duration", "0.8", "--warmup", "0.2", "--out", out, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, json: JSON.parse(readFileSync(`${out}/bench.json`, "utf8")) };
}

test("a quick run on two servers writes a table, JSON with every figure, and an SVG", async () => {
  const r = await bench(["--targets", "node,bare-node"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/\| node \| [\d,.]+/);
  expect(r.stdout).toMatch(/\| bare node \| [\d,.]+/);
  const { json } = r;
  expect(Object.keys(json.environment)).toEqual(
    expect.arrayContaining(["date", "bun", "deno", "node", "cpu", "cores", "kernel", "loadGenerator"]),
  );
  expect(json.targets.map((t: { name: string }) => t.name)).toEqual(["node", "bare node"]);
  expect(json.integrity.checked).toBe(true);
  expect(json.integrity.verifiedBytes).toBeGreaterThan(1_000_000);
  expect(json.failures).toEqual([]);
  for (const target of ["node", "bare node"]) {
    const s = json.summary[target];
    expect(s.rr1.msgPerSec.median).toBeGreaterThan(0);
    expect(s.rr64.p99us.median).toBeGreaterThan(0);
    expect(s.stream.MBps.median).toBeGreaterThan(0);
    expect(s.churn.connPerSec.median).toBeGreaterThan(0);
    expect(s.idle.KiBPerConn).toBeDefined();
    expect(s.startup.startupMs.median).toBeGreaterThan(0);
    expect(s.rr64.peakRssMB.median).toBeGreaterThan(1);
    expect(s.rr64.cpuSecPerMillionMsg.median).toBeGreaterThan(0);
  }
  expect(json.abstractionCost).toEqual([expect.objectContaining({ runtime: "node" })]);
  expect(json.samples.every((s: { raw?: { verifiedBytes: number } }) => s.raw === undefined || s.raw.verifiedBytes > 0)).toBe(true);
  expect(readFileSync(`${out}/bench.svg`, "utf8")).toMatch(/^<svg/);
  expect(existsSync(`${out}/bench.md`)).toBe(true);
});

test("a server that flips one byte fails the run loudly", async () => {
  const liar = await startServer(PAIRS.find((p) => p.runtime === "node")!, "test/fixtures/corrupt_echo.ts");
  try {
    const r = await bench(["--target", `127.0.0.1:${liar.port}`, "--scenarios", "rr64,stream"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bench: FAILED target 127\.0\.0\.1:\d+ \/ rr64 \/ rep 1: .*mismatch/);
    expect(r.stderr).toMatch(/bench: FAILED target 127\.0\.0\.1:\d+ \/ stream \/ rep 1: .*mismatch/);
    expect(r.stdout).toContain("**FAILED**");
    expect(r.json.failures).toHaveLength(2);
  } finally {
    await liar.stop();
  }
});

test("rejects an unknown target with one line and exit code 2", async () => {
  const child = spawn(`${ROOT}node_modules/.bin/node`, ["bench/run.ts", "--targets", "python"], { cwd: ROOT });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const [code] = await once(child, "close");
  expect(stderr).toBe("bench: Unknown target 'python' (see --help)\n");
  expect(code).toBe(2);
});

test("a short --cost run pairs node with bare node and writes every ratio with its interval", async () => {
  const child = spawn(
    `${ROOT}node_modules/.bin/node`,
    ["bench/run.ts", "--cost", "--targets", "node", "--scenarios", "rr64,stream", "--pairs", "2", "--max-pairs", "2", "--slice", "0.3", "--warmup", "0.1", "--rss-runs", "1", "--out", out],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const [code] = await once(child, "close");
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout).toMatch(/\| node vs bare node \| rr64 \| [\d.]+ \[[\d.]+, [\d.]+\] \|/);
  expect(stdout).toMatch(/\| node vs bare node \| stream \| [\d.]+ \[[\d.]+, [\d.]+\] \|/);
  const json = JSON.parse(readFileSync(`${out}/cost.json`, "utf8"));
  expect(json.errors).toEqual([]);
  expect(json.results.map((r: { a: string; b: string; scenario: { id: string } }) => `${r.a} ${r.b} ${r.scenario.id}`)).toEqual([
    "node bare node rr64",
    "node bare node stream",
  ]);
  for (const { result } of json.results) {
    expect(result.pairs + result.starved).toBe(2);
    const { rate } = result.figures;
    expect(rate.ratio.low).toBeLessThanOrEqual(rate.ratio.median);
    expect(rate.ratio.high).toBeGreaterThanOrEqual(rate.ratio.median);
  }
  expect(json.peaks).toHaveLength(1);
  for (const scenario of ["rr64", "stream"]) expect(json.peaks[0].peakRssMB.a[scenario]).toHaveLength(1);
});

test("--against metrics-off pairs node with metrics on against the same server with metrics off", async () => {
  const r = await run([
    `${ROOT}node_modules/.bin/node`,
    "bench/run.ts", "--cost", "--against", "metrics-off", "--targets", "node", "--pairs", "2", "--max-pairs", "2", "--slice", "0.2", "--warmup", "0.1",
    "--rss-runs", "0", "--out", out,
  ]);
  expect(r.stderr.toString()).toBe("");
  expect(r.code).toBe(0);
  const json = JSON.parse(readFileSync(`${out}/cost-metrics.json`, "utf8"));
  expect(json.errors).toEqual([]);
  expect(json.results.map((r: { a: string; b: string; scenario: { id: string } }) => `${r.a} / ${r.b} ${r.scenario.id}`)).toEqual([
    "node metrics on / node metrics off rr64",
    "node metrics on / node metrics off stream",
  ]);
  for (const { result } of json.results) expect(result.pairs + result.starved).toBe(2);
});

test("rejects an unknown --against with one line and exit code 2", async () => {
  const r = await run([`${ROOT}node_modules/.bin/node`, "bench/run.ts", "--cost", "--against", "nothing"]);
  expect(r.stderr.toString()).toBe("bench: Invalid --against 'nothing': expected bare or metrics-off\n");
  expect(r.code).toBe(2);
});

test("rejects an unknown cost scenario with one line and exit code 2", async () => {
  const child = spawn(`${ROOT}node_modules/.bin/node`, ["bench/run.ts", "--cost", "--scenarios", "churn"], { cwd: ROOT });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const [code] = await once(child, "close");
  expect(stderr).toBe(
    "bench: Unknown cost scenario 'churn': expected [tcp:|tls:|unix:]rr64, stream or stream-256k, handshake, udp, startup, startup-package or idle\n",
  );
  expect(code).toBe(2);
});

async function scaling(args: string[]) {
  const r = await run([`${ROOT}node_modules/.bin/node`, "bench/scaling.ts", ...args]);
  return { ...r, stdout: r.stdout.toString() };
}

test("bench:scaling runs 1 and 2 Node workers, checks every byte and writes its table and JSON", async () => {
  const r = await scaling(["--duration", "0.3", "--warmup", "0.1", "--reps", "1", "--rows", "node", "--out", `${out}/scaling`]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^\| node native, 1 worker \| [\d,]+ /m);
  expect(r.stdout).toMatch(/^\| node native, 2 workers \| [\d,]+ .*\| [\d.]+× \|/m);
  const json = JSON.parse(readFileSync(`${out}/scaling/scaling.json`, "utf8"));
  expect(json.rows.map((row: { name: string }) => row.name)).toEqual(["node native, 1 worker", "node native, 2 workers"]);
  for (const row of json.rows) expect(row.samples[0].errors).toEqual([]);
});

test.each([
  [["--bogus"], "bench:scaling: Unknown option '--bogus' (see --help)"],
  [["--reps", "0"], "bench:scaling: Invalid --reps '0': expected a whole number of at least 1"],
  [["--rows", "foo"], "bench:scaling: Invalid --rows 'foo': expected bun, deno, node or haproxy"],
])("bench:scaling %j fails with one line and exit 2", async (args, line) => {
  const r = await scaling(args);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(`${line}\n`);
});
