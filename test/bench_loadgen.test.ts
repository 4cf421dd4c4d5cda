// The load generator's options for the paired scenarios: the stream's in-flight window, source
// addresses, and the handshake scenario, each checked against a server that shows what it got.
import { once } from "node:events";
import { rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { afterAll, expect, test } from "vitest";
import { buildNative } from "../bench/build.ts";
import { startServer as startBenchServer } from "../bench/measure.ts";
import { BINARIES, PAIRS } from "../tools/runtimes.ts";
import { startServer } from "../tools/server_process.ts";
import { makeTestCertificates } from "../tools/test_certs.ts";
import { run } from "./helpers/run.ts";

const native = buildNative();
const latency = `${tmpdir()}/twine-bench-loadgen-${process.pid}.bin`;

afterAll(() => rmSync(latency, { force: true }));

/** A server that reads everything and echoes nothing, counting bytes and noting peers' addresses. */
async function sink() {
  const got: number[] = [];
  const peers: string[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    const i = got.push(0) - 1;
    peers.push(sock.remoteAddress!);
    sock.on("data", (chunk: Buffer) => (got[i]! += chunk.length));
    sock.on("end", () => sock.end());
    sock.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, got, peers, port: (server.address() as net.AddressInfo).port };
}

const outcome = (stdout: Buffer) => JSON.parse(stdout.toString().trim().split("\n").at(-1)!).outcome;

test("--window caps the bytes a stream connection has in flight; without it, 4 MiB", async () => {
  const s = await sink();
  try {
    const capped = await run([native.loadgen, "--window", "262144", "stream", "127.0.0.1", String(s.port), "2", "65536", "0.3", "0", latency]);
    // The sink echoes nothing, so every connection stops at its window and the end finds bytes missing.
    expect(outcome(capped.stdout).errors[0]).toMatch(/^sent 262144 bytes, got 0 back$/);
    expect(s.got).toEqual([262144, 262144]);
    const wide = await run([native.loadgen, "stream", "127.0.0.1", String(s.port), "1", "65536", "0.3", "0", latency]);
    expect(outcome(wide.stdout).errors[0]).toBe(`sent ${4 << 20} bytes, got 0 back`);
  } finally {
    s.server.close();
  }
});

test("--source connects from each of COUNT addresses in turn", async () => {
  const s = await sink();
  try {
    // A stream, so that the sink's silence ends the run at once: it answers the half-close.
    const r = await run([native.loadgen, "--source", "127.0.99.1/3", "--window", "1024", "stream", "127.0.0.1", String(s.port), "6", "1024", "0.2", "0", latency]);
    expect(outcome(r.stdout).errors[0]).toBe("sent 1024 bytes, got 0 back");
    expect(s.peers.sort()).toEqual(["127.0.99.1", "127.0.99.1", "127.0.99.2", "127.0.99.2", "127.0.99.3", "127.0.99.3"]);
  } finally {
    s.server.close();
  }
});

test("--pair takes turns between two servers, counts each side's own, and checks the second's bytes too", async () => {
  const node = PAIRS.find((p) => p.runtime === "node")!;
  const honest = await startBenchServer([native.cEcho], undefined);
  const liar = await startServer(node, "test/fixtures/corrupt_echo.ts");
  try {
    for (const mode of ["rr", "stream"]) {
      const size = mode === "rr" ? "64" : "65536";
      const both = await run([native.loadgen, "--pair", `127.0.0.1:${honest.port}`, "--turn", "20", mode, "127.0.0.1", String(honest.port), "2", size, "0.4", "0.05", latency]);
      const o = outcome(both.stdout);
      expect(o.errors, mode).toEqual([]);
      expect(o.operations + o.bytes, mode).toBeGreaterThan(0);
      expect(o.pair.operations + o.pair.bytes, mode).toBeGreaterThan(0);
      // Each side's time is its own turns: together, the measured window.
      expect(o.seconds + o.pair.seconds, mode).toBeGreaterThan(0.35);
      expect(o.seconds + o.pair.seconds, mode).toBeLessThan(0.5);
      const lied = await run([native.loadgen, "--pair", `127.0.0.1:${liar.port}`, mode, "127.0.0.1", String(honest.port), "1", mode === "rr" ? "2000" : size, "0.4", "0", latency]);
      expect(lied.code, mode).toBe(1);
      expect(outcome(lied.stdout).errors[0], mode).toMatch(/mismatch/);
    }
  } finally {
    await Promise.all([honest.stop(), liar.stop()]);
    rmSync(`${latency}.pair`, { force: true });
  }
});

test("the load generator rejects a bad --window, a bad --source, a bad --pair or --turn and a handshake without TLS, with one line", async () => {
  const args = ["127.0.0.1", "1", "1", "64", "0.1", "0", latency];
  const cases: [string[], string][] = [
    [["--pair", "127.0.0.1", "rr", ...args], "loadgen: bad --pair '127.0.0.1': expected HOST:PORT (a path with --unix) for rr, stream, churn or handshake\n"],
    [["--pair", "127.0.0.1:1", "idle", ...args], "loadgen: bad --pair '127.0.0.1:1': expected HOST:PORT (a path with --unix) for rr, stream, churn or handshake\n"],
    [["--turn", "10", "rr", ...args], "loadgen: bad --turn '10': expected milliseconds (at least 1), with --pair\n"],
    [["--window", "0", "stream", ...args], "loadgen: bad --window '0': expected a number of bytes\n"],
    [["--source", "localhost", "rr", ...args], "loadgen: bad --source 'localhost': expected an IPv4 ADDR[/COUNT] over TCP\n"],
    [["handshake", ...args], "loadgen: handshake needs --tls\n"],
  ];
  for (const [argv, line] of cases) {
    const r = await run([native.loadgen, ...argv]);
    expect(r.stderr).toBe(line);
    expect(r.code).toBe(2);
  }
});

test.skipIf(!native.tls)("handshake counts full TLS handshakes, each proved by an echo that a lying server fails", async () => {
  const certs = makeTestCertificates();
  const node = PAIRS.find((p) => p.runtime === "node")!;
  const honest = await startBenchServer([BINARIES.node, "bench/bare/node.ts", "--port", "0", "--tls-cert", certs.cert, "--tls-key", certs.key], undefined, {
    transport: "tls",
    ca: certs.ca,
  });
  const liar = await startServer(node, "test/fixtures/corrupt_echo.ts", ["--tls-cert", certs.cert, "--tls-key", certs.key]);
  try {
    const ok = await run([native.loadgen, "--tls", "--ca", certs.ca, "--source", "127.0.98.1/4", "handshake", "127.0.0.1", String(honest.port), "4", "64", "0.3", "0.05", latency]);
    const good = outcome(ok.stdout);
    expect(good.errors).toEqual([]);
    expect(good.operations).toBeGreaterThan(0);
    expect(good.tls).toMatch(/^TLSv1\.[23] /);
    // corrupt_echo flips byte 1000 of each connection: a 2000-byte echo after each handshake meets it.
    const bad = await run([native.loadgen, "--tls", "--ca", certs.ca, "handshake", "127.0.0.1", String(liar.port), "2", "2000", "0.3", "0", latency]);
    expect(bad.code).toBe(1);
    expect(outcome(bad.stdout).errors[0]).toMatch(/mismatch/);
  } finally {
    await Promise.all([honest.stop(), liar.stop()]);
    rmSync(certs.dir, { recursive: true, force: true });
  }
});
