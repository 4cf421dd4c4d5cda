// bench:connections at a tiny scale: its output's shape, and that a wrong byte or a lost
// connection fails it. The 100,000-connection run is a benchmark, not a test.
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { afterAll, expect, test } from "vitest";
import { BINARIES } from "../tools/runtimes.ts";
import { run } from "./helpers/run.ts";

const out = mkdtempSync(`${tmpdir()}/twine-bench-connections-`);

afterAll(() => rmSync(out, { recursive: true, force: true }));

const connections = (args: string[]) => run([BINARIES.node, "bench/connections.ts", "--settle", "0.2", "--out", out, ...args], undefined, 60_000);

test("holds idle connections on two Node workers and reports the time, each worker's share and memory", async () => {
  const r = await connections(["--runtimes", "node", "--connections", "200", "--workers", "2", "--clients", "2"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout.toString()).toMatch(/^\| node \| 200 \| 2 \| [\d.]+ \| [\d,]+ \| [\d.]+ \| [\d.]+ \| -?[\d.]+ \| [\d,]+–[\d,]+ \| [\d.]+–[\d.]+ \|$/m);
  const { rows } = JSON.parse(readFileSync(`${out}/connections.json`, "utf8"));
  const [row] = rows;
  expect(row.errors).toEqual([]);
  // Each connection echoed one byte when opened and one at the end.
  expect(row.verifiedBytes).toBe(400);
  expect(row.holding).toHaveLength(3);
  const held = row.holding.slice(1).reduce((n: number, p: { fds: number }, i: number) => n + p.fds - row.before[i + 1].fds, 0);
  expect(held).toBe(200);
});

/** A server that echoes every byte, except that it does `misbehave` to its 50th connection. */
async function withServer(misbehave: (sock: net.Socket, chunk: Buffer) => void, body: (port: number) => Promise<void>) {
  let accepted = 0;
  const server = net.createServer((sock) => {
    const n = ++accepted;
    sock.on("data", (chunk: Buffer) => (n === 50 ? misbehave(sock, chunk) : sock.write(chunk)));
    sock.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    await body((server.address() as net.AddressInfo).port);
  } finally {
    server.close();
  }
}

test("a wrong byte on one connection fails the run", async () => {
  await withServer((sock, chunk) => sock.write(Buffer.from([chunk[0]! ^ 1])), async (port) => {
    const r = await connections(["--target", `127.0.0.1:${port}`, "--connections", "100", "--clients", "2"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bench:connections: FAILED target 127\.0\.0\.1:\d+: client [12]: idle echo mismatch: sent 'x', got byte 121$/m);
    expect(r.stdout.toString()).toContain("**FAILED**");
  });
});

test("a connection the server drops while they are held fails the run", async () => {
  // The first byte is echoed; then the connection is closed while the clients hold it.
  await withServer((sock, chunk) => (sock.write(chunk), setTimeout(() => sock.destroy(), 50)), async (port) => {
    const r = await connections(["--target", `127.0.0.1:${port}`, "--connections", "100", "--clients", "2", "--settle", "0.5"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bench:connections: FAILED target 127\.0\.0\.1:\d+: client [12]: server closed an idle connection$/m);
  });
});

test.each([
  [["--runtimes", "python"], "bench:connections: Invalid --runtimes 'python': expected bun, deno or node"],
  [["--workers", "2"], "bench:connections: Invalid --workers '2': 100000 connections need at least 6 workers of 19000 descriptors each"],
  [["--connections", "40000", "--clients", "1"], "bench:connections: Invalid --clients '1': 40000 connections need at least 3 clients of 19000 descriptors each"],
  [["--connections", "0"], "bench:connections: Invalid --connections '0': expected a whole number of at least 1"],
])("bench:connections %j fails with one line and exit 2", async (args, line) => {
  const r = await run([BINARIES.node, "bench/connections.ts", ...args]);
  expect(r.stderr).toBe(`${line}\n`);
  expect(r.code).toBe(2);
});
