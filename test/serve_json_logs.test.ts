/**
 * twine-serve --log-format json on every pair: every line is one JSON object with time, level
 * and event; the start line, refusals (with their rate limit), restarts and the summary carry
 * their data as fields, and a worker's events reach the supervisor's output tagged with it.
 */
import { describe, expect, test } from "vitest";
import { BINARIES, type Pair, PAIRS } from "../tools/runtimes.ts";
import { type ServerProcess, startProcess } from "../tools/server_process.ts";
import { finish, type Outcome, serveOrRefuse } from "./helpers/metrics.ts";

type Line = Record<string, unknown> & { time: string; level: string; event: string; message: string };

/** Every line of the output, each parsed as JSON: one that is not fails the test. */
function lines(output: string): Line[] {
  return output.split("\n").filter((l) => l !== "").map((l) => {
    let parsed: unknown;
    expect(() => (parsed = JSON.parse(l)), `not a JSON line: ${l}`).not.toThrow();
    expect(parsed).toMatchObject({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), level: expect.stringMatching(/^(info|warn|error)$/), event: expect.any(String), message: expect.any(String) });
    return parsed as Line;
  });
}

const events = (output: string, name: string) => lines(output).filter((l) => l.event === name);

/** How many refusals the `connection_refused` lines stand for, by their `count` fields. */
const refusalsLogged = (output: string) => events(output, "connection_refused").reduce((n, l) => n + (l.count as number), 0);

function command(pair: Pair, args: string[]): string[] {
  const runtime = pair.runtime === "deno" ? [BINARIES.deno, "run", "--allow-net", "--allow-run", "--allow-env", "--no-prompt"] : pair.command;
  return [...runtime, "bin/serve.ts", "echo", "--port", "0", "--adapter", pair.adapter, "--log-format", "json", ...args];
}

/** Connects until `held` connections are served and held open, then until `refused` more are refused in a row. */
async function fill(server: ServerProcess, held: number, refused: number): Promise<{ held: Outcome[]; refused: number }> {
  const open: Outcome[] = [];
  let count = 0;
  for (let i = 0; i < 200 && (open.length < held || count < refused); i++) {
    const outcome = await serveOrRefuse(server.port);
    if (outcome.served) {
      expect(open.length, "a connection was served past the limit").toBeLessThan(held);
      open.push(outcome);
    } else {
      count++;
    }
  }
  expect(open.length).toBe(held);
  return { held: open, refused: count };
}

describe.each(PAIRS)("twine-serve --log-format json on $name", (pair) => {
  test("one process: the start line, refusals with their limit and count, and the stop lines are JSON events with their fields", async () => {
    const server = await startProcess(pair.name, command(pair, ["--max-connections", "1", "--grace", "7"]));
    let stopped = false;
    try {
      const { held } = await fill(server, 1, 5);
      // The first refusal is logged at once, the other four a second later in one line: five in all.
      await expect.poll(() => refusalsLogged(server.output()), { timeout: 10_000 }).toBe(5);
      for (const h of held) if (h.served) await finish(h.sock);
      const { code, output } = await server.stop("SIGTERM");
      stopped = true;
      expect(code).toBe(0);
      const all = lines(output);
      const [start] = events(output, "listening");
      expect(start).toMatchObject({
        level: "info",
        name: "Echo server",
        addresses: [`127.0.0.1:${server.port}`],
        runtime: expect.stringMatching(new RegExp(`^${pair.runtime} \\d`)),
        adapter: pair.adapter === "node" || pair.runtime === "node" ? "node:net" : pair.runtime,
      });
      expect(start!.message).toBe(`Echo server listening on 127.0.0.1:${server.port} (${start!.runtime}, adapter ${start!.adapter})`);
      const refused = events(output, "connection_refused");
      expect(refused.map((l) => [l.count, l.total])).toEqual([[1, 1], [4, 5]]);
      for (const l of refused) {
        expect(l).toMatchObject({ level: "warn", endpoint: `127.0.0.1:${server.port}`, peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/), limit: 1 });
        expect(l).not.toHaveProperty("worker");
      }
      expect(refused[1]!.message).toBe("Refused 4 connections: 1 open, the most allowed (5 refused in all)");
      const [stopping] = events(output, "stopping");
      // The held connection has closed on the client's side; the server may not have seen its FIN yet.
      expect(stopping).toMatchObject({ level: "info", signal: "SIGTERM", connections: expect.any(Number), grace: 7 });
      const open = stopping!.connections as number;
      expect(stopping!.message).toBe(`Stopping on SIGTERM: ${open} connection${open === 1 ? "" : "s"} draining for up to 7 s (SIGTERM again stops at once)`);
      expect(events(output, "stopped")).toEqual([
        expect.objectContaining({ level: "info", reason: "SIGTERM", connections: 1, bytesEchoed: 1, message: "Stopped on SIGTERM: served 1 connection, echoed 1 byte" }),
      ]);
      expect(all.map((l) => l.event)).toEqual(["listening", "connection_refused", "connection_refused", "stopping", "stopped"]);
    } finally {
      if (!stopped) await server.stop("SIGKILL");
    }
  });

  test("with --workers 2: worker events tagged with the worker, refusals from each worker with their counts, a restart, and the summed summary", async () => {
    const server = await startProcess(pair.name, command(pair, ["--workers", "2", "--max-connections", "1", "--grace", "5"]));
    let stopped = false;
    try {
      // One held on each worker fills both; every connection after that is refused by one of them.
      const { held, refused } = await fill(server, 2, 4);
      await expect.poll(() => refusalsLogged(server.output()), { timeout: 10_000 }).toBe(refused);
      for (const h of held) if (h.served) await finish(h.sock);
      const started = events(server.output(), "worker_started");
      expect(started.map((l) => l.worker).sort()).toEqual([1, 2]);
      for (const l of started) expect(l.message).toBe(`Worker ${l.worker} started (pid ${l.pid})`);
      const victim = started.find((l) => l.worker === 2)!.pid as number;
      process.kill(victim, "SIGKILL");
      await expect.poll(() => events(server.output(), "worker_started").length, { timeout: 15_000 }).toBe(3);
      const { code, output } = await server.stop("SIGTERM");
      stopped = true;
      expect(code).toBe(0);
      lines(output);
      expect(events(output, "listening")).toEqual([expect.objectContaining({ addresses: [`127.0.0.1:${server.port}`], workers: 2 })]);
      for (const l of events(output, "connection_refused")) {
        expect([1, 2]).toContain(l.worker);
        expect(l).toMatchObject({ level: "warn", endpoint: `127.0.0.1:${server.port}`, limit: 1 });
      }
      expect(events(output, "worker_exited")).toEqual([
        expect.objectContaining({ level: "warn", worker: 2, pid: victim, signal: "SIGKILL", restartIn: 0.1 }),
      ]);
      expect(events(output, "stopping")).toEqual([expect.objectContaining({ signal: "SIGTERM", workers: 2, grace: 5 })]);
      const [summary] = events(output, "stopped");
      // Worker 2 was killed, so its first process sent no summary: the two that drained are summed.
      expect(summary).toMatchObject({ reason: "SIGTERM", workers: 2 });
      const each = summary!.workerConnections as number[];
      expect(each).toHaveLength(2);
      expect(summary!.connections).toBe(each[0]! + each[1]!);
    } finally {
      if (!stopped) await server.stop("SIGKILL");
    }
  });
});
