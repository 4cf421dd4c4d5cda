/**
 * Streaming through the `node:net` adapter on the V8 runtimes: without the collections of
 * adapters/node/read_garbage.ts, Deno's `node:net` reached 400–520 MB after a few seconds of this
 * load (docs/soak.md); with them it stays near 100–170 MB. The bound sits between the two.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildNative } from "../bench/build.ts";
import { runJob, startServer, type RunningServer } from "../bench/measure.ts";
import { PAIRS } from "../tools/runtimes.ts";

const MB = 1024 * 1024;
const loadgen = buildNative().loadgen;

describe.each(PAIRS.filter((p) => p.runtime === "node" || (p.runtime === "deno" && p.adapter === "node")))("$name under bulk streaming", (pair) => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer([...pair.command, "bin/echo.ts", "--adapter", "node"], undefined);
  });

  afterAll(() => server.stop());

  test("keeps resident memory under 250 MB while 4 connections stream for 4 s, every byte checked", async () => {
    const run = await runJob(
      loadgen,
      { mode: "stream", connections: 4, size: 65536 },
      server,
      { duration: 4, warmup: 0.5 },
      undefined,
    );
    expect(run.errors).toEqual([]);
    expect(run.verifiedBytes).toBeGreaterThan(64 * MB);
    expect(run.peakRss! / MB).toBeLessThan(250);
  });
});
