/**
 * A stock Prometheus scrapes twine: one server per runtime with --workers 2 --metrics, driven
 * with known traffic (connections echoing known bytes, others refused by --max-connections,
 * a worker killed between the two), and the series read back through Prometheus' own query
 * API must match exactly what was sent, with no counter reset.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { BINARIES, PAIRS, ROOT } from "../../tools/runtimes.ts";
import { type ServerProcess, startProcess } from "../../tools/server_process.ts";
import { collect, connect } from "../helpers/client.ts";
import { finish, scrape, serveOrRefuse } from "../helpers/metrics.ts";
import { waitForOutput } from "../helpers/run.ts";

function prometheusPath(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const PROMETHEUS = prometheusPath();
if (PROMETHEUS === undefined) console.warn("test:ops skipped: Prometheus is not installed (apt-get install prometheus; .ci/run does)");

/** One server per runtime, on its native adapter. */
const RUNTIMES = (["bun", "deno", "node"] as const).map((runtime) => PAIRS.find((p) => p.runtime === runtime && p.adapter === "native")!);
const PAYLOAD = 1000;
const SERVED = 10;
const REFUSED_IN_A_ROW = 3;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Twine {
  readonly runtime: string;
  readonly server: ServerProcess;
  readonly metricsPort: number;
  /** What the test did to it, and so what Prometheus must show. */
  readonly sent: { accepted: number; refused: number; read: number; written: number };
}

const dir = mkdtempSync(join(tmpdir(), "twine-ops-"));
const twines: Twine[] = [];
let prometheus: ChildProcess | undefined;
let prometheusOutput = "";
let api = "";

async function startTwine(runtime: "bun" | "deno" | "node"): Promise<Twine> {
  const pair = RUNTIMES.find((p) => p.runtime === runtime)!;
  const command = runtime === "deno" ? [BINARIES.deno, "run", "--allow-net", "--allow-run", "--allow-env", "--no-prompt"] : pair.command;
  const server = await startProcess(pair.name, [
    ...command,
    "bin/serve.ts",
    "echo",
    ...["--port", "0", "--workers", "2", "--max-connections", "1", "--grace", "5", "--metrics", "tcp:0:interface=127.0.0.1"],
  ]);
  const line = /Serving metrics on 127\.0\.0\.1:(\d+)/;
  await waitForOutput(() => server.output(), line);
  return { runtime, server, metricsPort: Number(line.exec(server.output())![1]), sent: { accepted: 0, refused: 0, read: 0, written: 0 } };
}

/** What /api/v1/query answers for an instant vector. */
interface QueryAnswer {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(promql: string): Promise<QueryAnswer> {
  const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
  expect(response.status).toBe(200);
  return (await response.json()) as QueryAnswer;
}

interface Target {
  labels: Record<string, string>;
  health: string;
  lastScrape: string;
  lastError: string;
}

async function targets(): Promise<Target[]> {
  const response = await fetch(`${api}/api/v1/targets?state=active`);
  return ((await response.json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
}

/** Resolves once Prometheus has scraped every target, successfully, after `since`. */
async function scrapedAfter(since: number): Promise<void> {
  await expect.poll(async () => (await targets()).filter((t) => t.health === "up" && Date.parse(t.lastScrape) > since).length, {
    timeout: 30_000,
    interval: 250,
  }).toBe(twines.length);
}

/** One connection: sends the payload, half-closes, and is served (all of it echoed) or refused (nothing). */
async function echoOrRefused(t: Twine, payload: Uint8Array): Promise<boolean> {
  const sock = await connect(t.server.port);
  sock.on("error", () => {});
  const result = collect(sock, 15_000);
  sock.end(payload);
  const { received } = await result;
  t.sent.accepted++;
  if (received.length === 0) {
    t.sent.refused++;
    return false;
  }
  expect(received.equals(payload)).toBe(true);
  t.sent.read += payload.length;
  t.sent.written += payload.length;
  return true;
}

/** Holds one connection on each worker (a limit of 1 each), then gets `REFUSED_IN_A_ROW` refused. */
async function fillAndRefuse(t: Twine): Promise<void> {
  const held = [];
  let refusedInARow = 0;
  for (let i = 0; i < 200 && (held.length < 2 || refusedInARow < REFUSED_IN_A_ROW); i++) {
    const outcome = await serveOrRefuse(t.server.port, "x");
    t.sent.accepted++;
    if (outcome.served) {
      held.push(outcome.sock);
      t.sent.read++;
      t.sent.written++;
    } else {
      t.sent.refused++;
      if (held.length === 2) refusedInARow++;
    }
  }
  expect(held.length).toBe(2);
  for (const sock of held) await finish(sock);
}

/** Until the server's own /metrics says every connection has closed. */
async function settled(t: Twine): Promise<void> {
  await expect.poll(async () => (await scrape(t.metricsPort)).get(`twine_connections_open{endpoint="tcp:127.0.0.1:${t.server.port}"}`), {
    timeout: 15_000,
  }).toBe(0);
}

beforeAll(async () => {
  if (PROMETHEUS === undefined) return;
  for (const runtime of ["bun", "deno", "node"] as const) twines.push(await startTwine(runtime));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      "  - job_name: twine",
      "    static_configs:",
      ...twines.flatMap((t) => [`      - targets: ["127.0.0.1:${t.metricsPort}"]`, `        labels: { runtime: ${t.runtime} }`]),
      "",
    ].join("\n"),
  );
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  prometheus = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  prometheus.stdout!.setEncoding("utf8").on("data", (s: string) => (prometheusOutput += s));
  prometheus.stderr!.setEncoding("utf8").on("data", (s: string) => (prometheusOutput += s));
}, 120_000);

afterAll(async () => {
  for (const t of twines) expect((await t.server.stop("SIGTERM")).code).toBe(0);
  if (prometheus !== undefined && prometheus.exitCode === null) {
    prometheus.kill("SIGTERM");
    await once(prometheus, "close");
  }
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

test.skipIf(PROMETHEUS === undefined)("Prometheus scrapes twine on Bun, Deno and Node with 2 workers each, and its query API shows exactly the traffic sent, with no counter reset", async () => {
  await expect.poll(async () => (await fetch(`${api}/-/ready`).catch(() => undefined))?.status, { timeout: 30_000, interval: 250 }).toBe(200);
  await expect.poll(async () => (await targets()).filter((t) => t.health === "up").length, { timeout: 30_000, interval: 250 }).toBe(3);

  // Refusals first: one connection held on each worker, then refused ones.
  await Promise.all(twines.map((t) => fillAndRefuse(t)));
  await Promise.all(twines.map((t) => settled(t)));
  // Once Prometheus has seen that, a worker dies: what it had counted must stay counted.
  await scrapedAfter(Date.now());
  for (const t of twines) {
    const pid = Number(/Worker 1 started \(pid (\d+)\)/.exec(t.server.output())![1]);
    process.kill(pid, "SIGKILL");
    await waitForOutput(() => t.server.output(), new RegExp(`Worker 1 \\(pid ${pid}\\) exited \\(SIGKILL\\); restarting`));
    await expect.poll(() => t.server.output().match(/Worker 1 started/g)?.length, { timeout: 20_000 }).toBe(2);
  }
  // Then connections that echo a known payload, until SERVED of them were served on each server.
  const payload = randomBytes(PAYLOAD);
  await Promise.all(twines.map(async (t) => {
    let served = 0;
    for (let i = 0; i < 100 && served < SERVED; i++) if (await echoOrRefused(t, payload)) served++;
    expect(served).toBe(SERVED);
  }));
  await Promise.all(twines.map((t) => settled(t)));
  await scrapedAfter(Date.now());

  const sumBy = async (metric: string) => {
    const answer = await query(`sum by (runtime, endpoint) (${metric}{job="twine"})`);
    expect(answer.status).toBe("success");
    return Object.fromEntries(answer.data.result.map((r) => [r.metric.runtime!, { endpoint: r.metric.endpoint, value: Number(r.value[1]) }]));
  };
  // What an operator would ask, printed as Prometheus answers it.
  for (const promql of ['sum by (runtime, endpoint) (twine_connections_accepted_total{job="twine"})', 'sum by (runtime) (twine_connections_refused_total{job="twine"})']) {
    console.log(`GET /api/v1/query?query=${promql}\n${JSON.stringify(await query(promql))}`);
  }
  const expected = (pick: (t: Twine) => number) =>
    Object.fromEntries(twines.map((t) => [t.runtime, { endpoint: `tcp:127.0.0.1:${t.server.port}`, value: pick(t) }]));
  expect(await sumBy("twine_connections_accepted_total")).toEqual(expected((t) => t.sent.accepted));
  expect(await sumBy("twine_connections_refused_total")).toEqual(expected((t) => t.sent.refused));
  expect(await sumBy("twine_read_bytes_total")).toEqual(expected((t) => t.sent.read));
  expect(await sumBy("twine_written_bytes_total")).toEqual(expected((t) => t.sent.written));
  expect(await sumBy("twine_connections_open")).toEqual(expected(() => 0));
  for (const t of twines) {
    expect(t.sent.refused).toBeGreaterThanOrEqual(REFUSED_IN_A_ROW);
    expect(t.sent.read).toBe(2 + SERVED * PAYLOAD);
  }
  // A worker died on every server, yet Prometheus saw no counter go down.
  const resets = await query('sum by (runtime) (resets(twine_connections_accepted_total{job="twine"}[10m]) + resets(twine_read_bytes_total{job="twine"}[10m]))');
  expect(resets.data.result.map((r) => [r.metric.runtime, Number(r.value[1])]).sort()).toEqual([["bun", 0], ["deno", 0], ["node", 0]]);
  const up = await query('up{job="twine"}');
  expect(up.data.result.map((r) => Number(r.value[1]))).toEqual([1, 1, 1]);
  expect(prometheusOutput).not.toMatch(/level=error/);
}, 180_000);

test.skipIf(PROMETHEUS === undefined)("the scrape configuration and alert rules shown in docs/operating.md pass promtool", () => {
  const page = readFileSync(join(ROOT, "docs/operating.md"), "utf8");
  const blocks = [...page.matchAll(/```yaml\n# ([\w.-]+)\n([\s\S]*?)```/g)].map(([, name, body]) => [name!, body!] as const);
  expect(blocks.map(([name]) => name)).toEqual(["prometheus.yml", "twine-rules.yml"]);
  const at = mkdtempSync(join(dir, "docs-"));
  for (const [name, body] of blocks) writeFileSync(join(at, name), body);
  const promtool = join(PROMETHEUS!, "..", "promtool");
  // check config also checks the rule files it names.
  const output = execFileSync(promtool, ["check", "config", join(at, "prometheus.yml")], { encoding: "utf8" });
  expect(output).toMatch(/SUCCESS: 2 rules found/);
});
