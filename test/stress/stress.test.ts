/**
 * Bounded stress tests, on every runtime x adapter pair: `npm run test:stress`.
 * Load comes from the benchmark's C load generator, which checks every byte
 * without holding it; all traffic stays on 127.0.0.1.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, test } from "vitest";
import { buildNative } from "../../bench/build.ts";
import { runJob } from "../../bench/measure.ts";
import { connect, echo, Pattern } from "../helpers/client.ts";
import { PAIRS } from "../../tools/runtimes.ts";
import { openFds, RAISE_FD_LIMIT, residentBytes, type ServerProcess, startProcess } from "../../tools/server_process.ts";
import { withServer } from "../helpers/with_server.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const { loadgen } = buildNative();
const figures: Record<string, Record<string, number>> = {};

afterAll(() => {
  // The figures the README quotes: printed, so a run shows them.
  console.log(`stress figures: ${JSON.stringify(figures, null, 1)}`);
});

function start(pair: (typeof PAIRS)[number]): Promise<ServerProcess> {
  return startProcess(pair.name, [
    ...RAISE_FD_LIMIT,
    ...pair.command,
    "bin/echo.ts",
    "--port",
    "0",
    "--adapter",
    pair.adapter,
    "--grace",
    "1",
  ]);
}

const server = (s: ServerProcess) => ({ host: "127.0.0.1", port: s.port, pid: s.pid, stop: async () => {} });
const untimed = { duration: 0, warmup: 0 };

describe.each(PAIRS)("$name", (pair) => {
  const record = (name: string, value: number) => ((figures[pair.name] ??= {})[name] = Math.round(value * 10) / 10);

  test("holds 10,000 concurrent connections, each echoing", async () => {
    await withServer(start(pair), async (s) => {
      const before = residentBytes(s.pid);
      const run = await runJob(loadgen, { mode: "idle", connections: 10_000, size: 1 }, server(s), untimed, undefined);
      expect(run.errors).toEqual([]);
      expect(run.operations).toBe(10_000);
      record("idle10kRssMB", run.rssHolding! / MiB);
      record("idleKiBPerConn", (run.rssHolding! - before) / 10_000 / 1024);
    });
  });

  test("streams 1 GiB through one connection and through 8 at once, byte for byte", async () => {
    await withServer(start(pair), async (s) => {
      const one = await runJob(loadgen, { mode: "stream", connections: 1, size: 65536 }, server(s), untimed, undefined, GiB);
      expect(one.errors).toEqual([]);
      expect(one.verifiedBytes).toBe(GiB);
      const eight = await runJob(loadgen, { mode: "stream", connections: 8, size: 65536 }, server(s), untimed, undefined, GiB / 8);
      expect(eight.errors).toEqual([]);
      expect(eight.verifiedBytes).toBe(GiB);
      record("oneGiBSeconds", one.seconds);
      record("eightConnGiBSeconds", eight.seconds);
      record("streamPeakRssMB", Math.max(one.peakRss!, eight.peakRss!) / MiB);
    });
  });

  test("rounds of 20,000 connect-echo-close cycles leave open fds where they started and stop adding memory", async () => {
    await withServer(start(pair), async (s) => {
      const churn = { mode: "churn" as const, connections: 8, size: 64 };
      const cycles = async () => {
        const run = await runJob(loadgen, churn, server(s), untimed, undefined, 20_000);
        expect(run.errors).toEqual([]);
        expect(run.operations).toBe(20_000);
        return run;
      };
      // A first round lets the runtime's pools and JIT settle, so the baseline is not its start-up.
      expect((await runJob(loadgen, churn, server(s), untimed, undefined, 2_000)).errors).toEqual([]);
      await expect.poll(() => openFds(s.pid), { timeout: 10_000 }).toBeLessThan(200);
      const fds = openFds(s.pid);
      const rss0 = residentBytes(s.pid);
      const first = await cycles();
      // The server closes its side as the cycles end; wait for the last ones.
      await expect.poll(() => openFds(s.pid), { timeout: 15_000 }).toBeLessThanOrEqual(fds + 2);
      // Garbage the collector has not yet returned grows the heap for a round or two
      // (Deno's node:net: +47 MB, +42 MB, then flat at ~155 MB over six rounds);
      // a leak would go on growing by the same amount every round.
      const rss1 = residentBytes(s.pid);
      await cycles();
      const rss2 = residentBytes(s.pid);
      await cycles();
      await expect.poll(() => openFds(s.pid), { timeout: 15_000 }).toBeLessThanOrEqual(fds + 2);
      const rss3 = residentBytes(s.pid);
      record("churnRssGrowthRound1MB", (rss1 - rss0) / MiB);
      record("churnRssGrowthRound2MB", (rss2 - rss1) / MiB);
      record("churnRssGrowthRound3MB", (rss3 - rss2) / MiB);
      record("churnCyclesPerSec", first.operations / first.seconds);
      expect((rss3 - rss2) / MiB).toBeLessThan(32);
    });
  });

  test("survives 1,000 resets in the middle of large echoes, interleaved with healthy clients", async () => {
    await withServer(start(pair), async (s) => {
      const big = randomBytes(256 * 1024);
      for (let i = 0; i < 1000; i++) {
        const sock = await connect(s.port);
        sock.on("error", () => {});
        sock.write(big);
        await new Promise((resolve) => sock.once("data", resolve));
        sock.resetAndDestroy();
        if (i % 100 === 99) {
          const payload = randomBytes(128 * 1024);
          const r = await echo(s.port, payload, [4096]);
          expect(r.received.equals(payload)).toBe(true);
        }
      }
      expect(s.child.exitCode).toBeNull();
    });
  });

  test("a slow reader stays bounded in memory and gets every byte in order", async () => {
    await withServer(start(pair), async (s) => {
      const total = 16 * MiB;
      const pattern = new Pattern();
      const sock = await connect(s.port);
      sock.pause();
      let received = 0;
      let firstBad = -1;
      let peak = 0;
      sock.on("data", (chunk: Buffer) => {
        if (firstBad < 0 && pattern.mismatch(received, chunk) >= 0) firstBad = pattern.mismatch(received, chunk);
        received += chunk.length;
        // Take one chunk, then nothing for 5 ms: a reader far slower than the writer.
        sock.pause();
        peak = Math.max(peak, residentBytes(s.pid));
        setTimeout(() => sock.resume(), 5);
      });
      const ended = new Promise((resolve) => sock.once("end", resolve));
      sock.resume();
      for (let sent = 0; sent < total; sent += 256 * 1024) {
        if (!sock.write(pattern.slice(sent, 256 * 1024))) await new Promise((resolve) => sock.once("drain", resolve));
      }
      sock.end();
      await ended;
      expect(firstBad).toBe(-1);
      expect(received).toBe(total);
      expect(peak).toBeLessThan(200 * MiB);
      record("slowReaderPeakRssMB", peak / MiB);
    });
  });
});
