// The benchmark's TLS and Unix-socket rows: every pair and its runtime's bare server over
// each transport, every byte checked by the C load generator, after decryption for TLS.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, test } from "vitest";
import { buildNative } from "../bench/build.ts";
import { BINARIES, PAIRS } from "../tools/runtimes.ts";
import { startServer } from "../tools/server_process.ts";
import { makeTestCertificates } from "../tools/test_certs.ts";
import { run } from "./helpers/run.ts";

const out = mkdtempSync(`${tmpdir()}/twine-bench-transports-`);
const native = buildNative();

afterAll(() => rmSync(out, { recursive: true, force: true }));

const bench = (args: string[]) => run([BINARIES.node, "bench/run.ts", ...args, "--out", out], undefined, 180_000);

interface Sample {
  target: string;
  scenario: string;
  errors: string[];
  raw?: { verifiedBytes: number; tls?: string };
}

describe.each(["tls", "unix"] as const)("over %s", (transport) => {
  test.skipIf(transport === "tls" && !native.tls)("every pair and bare server runs rr64 and stream with every byte checked", async () => {
    const r = await bench(["--quick", "--transport", transport, "--scenarios", "rr64,stream", "--duration", "0.3"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(`${out}/bench-${transport}.json`, "utf8"));
    const names = ["bun native", "bare bun", "bun node:net", "deno native", "bare deno", "deno node:net", "node", "bare node"];
    // The C ceiling speaks no TLS.
    if (transport === "unix") names.push("bare c");
    expect(json.targets.map((t: { name: string }) => t.name)).toEqual(names);
    expect(json.failures).toEqual([]);
    const samples = json.samples as Sample[];
    expect(samples).toHaveLength(names.length * 2);
    for (const s of samples) {
      expect(s.raw!.verifiedBytes, `${s.target} ${s.scenario}`).toBeGreaterThan(0);
      if (transport === "tls") expect(s.raw!.tls).toMatch(/^TLSv1\.[23] /);
    }
    const over = transport === "tls" ? "over TLS" : "over a Unix socket";
    expect(r.stdout.toString()).toContain(`twine echo benchmark ${over}`);
    for (const name of names) expect(r.stdout.toString()).toMatch(new RegExp(`\\| ${name} \\| [\\d,.]+`));
  });
});

test.skipIf(!native.tls)("a short --cost run pairs node with bare node over TLS and over Unix", async () => {
  const r = await bench([
    "--cost", "--transport", "tls,unix", "--scenarios", "rr64,stream", "--targets", "node",
    "--pairs", "2", "--max-pairs", "2", "--slice", "0.2", "--warmup", "0.1", "--rss-runs", "0",
  ]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const stdout = r.stdout.toString();
  for (const id of ["tls:rr64", "tls:stream", "unix:rr64", "unix:stream"]) {
    expect(stdout).toMatch(new RegExp(`\\| node vs bare node \\| ${id} \\| [\\d.]+ \\[[\\d.]+, [\\d.]+\\] \\|.* \\| [\\d,.]+ (msg|MB)/s \\| [\\d,.]+ (msg|MB)/s \\|$`, "m"));
  }
  const json = JSON.parse(readFileSync(`${out}/cost-tls-unix.json`, "utf8"));
  expect(json.errors).toEqual([]);
  expect(json.results.map((x: { scenario: { channel: string } }) => x.scenario.channel)).toEqual(["tls", "tls", "unix", "unix"]);
});

test.skipIf(!native.tls)("loadgen --tls finds a flipped byte after decryption, in rr and in stream", async () => {
  const certs = makeTestCertificates();
  const node = PAIRS.find((p) => p.runtime === "node")!;
  const liar = await startServer(node, "test/fixtures/corrupt_echo.ts", ["--tls-cert", certs.cert, "--tls-key", certs.key]);
  try {
    for (const [mode, size] of [["rr", "2000"], ["stream", "65536"]]) {
      const r = await run([native.loadgen, "--tls", "--ca", certs.ca, mode!, "127.0.0.1", String(liar.port), "2", size!, "0.3", "0.1", `${out}/lat.bin`]);
      expect(r.code, mode).toBe(1);
      const outcome = JSON.parse(r.stdout.toString().trim().split("\n").at(-1)!).outcome;
      expect(outcome.errors[0]).toMatch(/mismatch/);
    }
  } finally {
    await liar.stop();
    rmSync(certs.dir, { recursive: true, force: true });
  }
});

test.skipIf(!native.tls)("loadgen --tls refuses a server whose certificate the CA did not sign, before measuring", async () => {
  const certs = makeTestCertificates();
  const other = makeTestCertificates();
  const node = PAIRS.find((p) => p.runtime === "node")!;
  const server = await startServer(node, "test/fixtures/corrupt_echo.ts", ["--tls-cert", certs.cert, "--tls-key", certs.key]);
  try {
    const r = await run([native.loadgen, "--tls", "--ca", other.ca, "rr", "127.0.0.1", String(server.port), "2", "64", "0.3", "0.1", `${out}/lat.bin`]);
    expect(r.code).toBe(1);
    const outcome = JSON.parse(r.stdout.toString().trim().split("\n").at(-1)!).outcome;
    expect(outcome.errors).toEqual([expect.stringMatching(/^TLS handshake failed: /)]);
    expect(outcome.verifiedBytes).toBe(0);
  } finally {
    await server.stop();
    for (const c of [certs, other]) rmSync(c.dir, { recursive: true, force: true });
  }
});

test("rejects an unknown transport and a scenario the transport has not with one line and exit code 2", async () => {
  const a = await run([BINARIES.node, "bench/run.ts", "--transport", "quic"]);
  expect(a.stderr).toBe("bench: Invalid --transport 'quic': expected tcp, tls or unix\n");
  expect(a.code).toBe(2);
  const b = await run([BINARIES.node, "bench/run.ts", "--transport", "tls", "--scenarios", "churn"]);
  expect(b.stderr).toBe("bench: Cannot run scenario 'churn' over tls\n");
  expect(b.code).toBe(2);
});
