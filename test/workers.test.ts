import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { availableParallelism } from "node:os";
import { describe, expect, test } from "vitest";
import { collect, connect, echo, Pattern, writeAll } from "./helpers/client.ts";
import { run } from "./helpers/run.ts";
import { BINARIES, PAIRS, type Pair, ROOT } from "../tools/runtimes.ts";
import { SIGNAL_ECHO_MS } from "../runner/signal_echoes.ts";
import { startProcess } from "../tools/server_process.ts";

/** The pair's command with what a supervisor needs on top: Deno asks for child processes and the environment. */
function supervisorCommand(pair: Pair, args: string[]): string[] {
  const runtime = pair.runtime === "deno"
    ? [BINARIES.deno, "run", "--allow-net", "--allow-run", "--allow-env", "--no-prompt"]
    : pair.command;
  return [...runtime, "bin/echo.ts", "--port", "0", "--adapter", pair.adapter, ...args];
}

/** Whether `pid` runs: a zombie (dead, not yet reaped by whoever adopted it) does not (Linux). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function workerPids(output: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of output.matchAll(/Worker (\d+) started \(pid (\d+)\)/g)) pids.set(Number(m[1]), Number(m[2]));
  return pids;
}

function summary(output: string) {
  const m = /Stopped on (\w+): served (\d+) connections?, echoed (\d+) bytes? over (\d+) workers? \(([\d +]+) connections\)/.exec(output);
  expect(m, output).not.toBeNull();
  return { signal: m![1], served: Number(m![2]), echoed: Number(m![3]), each: m![5]!.split(" + ").map(Number) };
}

async function roundTrip(sock: net.Socket, text: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    sock.once("data", (d: Buffer) => resolve(d.toString()));
    sock.once("close", () => reject(new Error("closed")));
    sock.write(text);
  });
}

test("deno without --allow-run says which flags to add", async () => {
  const { execFile } = await import("node:child_process");
  const command = [BINARIES.deno, "run", "--allow-net", "--no-prompt", "bin/echo.ts", "--port", "0", "--workers", "2"];
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(command[0]!, command.slice(1), { timeout: 30_000 }, (error, _stdout, stderr) => {
      resolve({ code: (error as { code?: number } | null)?.code ?? 0, stderr });
    });
  });
  expect(stderr).toBe("twine-echo: Cannot start workers: run deno with --allow-run --allow-env\n");
  expect(code).toBe(1);
});

test("--workers auto starts one worker per available core", async () => {
  const node = PAIRS.find((p) => p.runtime === "node")!;
  const server = await startProcess(node.name, supervisorCommand(node, ["--workers", "auto"]));
  const cores = availableParallelism();
  // One core means one process and no supervisor.
  expect(workerPids(server.output()).size).toBe(cores > 1 ? cores : 0);
  const { code, output } = await server.stop("SIGTERM");
  expect(code).toBe(0);
  if (cores > 1) expect(summary(output).each).toHaveLength(cores);
});

/** The pair's runtime with what a supervisor needs, before a script of its own. */
function supervisorRuntime(pair: Pair): string[] {
  return supervisorCommand(pair, []).slice(0, supervisorCommand(pair, []).indexOf("bin/echo.ts"));
}

/**
 * A server the stand-in workers (test/fixtures/stand_in_workers.ts) ask how to start: it records
 * each one's pid and answers `listen` or `fail`, or holds the answer while `answer` is `hold`.
 */
async function controlServer() {
  const pids: number[] = [];
  const socks: net.Socket[] = [];
  const control = { port: 0, pids, answer: "listen" as "listen" | "fail" | "hold", close: () => {} };
  const server = net.createServer((sock) => {
    socks.push(sock);
    sock.on("error", () => {});
    let text = "";
    sock.setEncoding("utf8").on("data", (chunk: string) => {
      text += chunk;
      if (!text.endsWith("\n")) return;
      pids.push(Number(text));
      if (control.answer !== "hold") sock.write(`${control.answer}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  control.port = (server.address() as net.AddressInfo).port;
  control.close = () => {
    for (const sock of socks) sock.destroy();
    server.close();
  };
  return control;
}

/** Live processes (Linux) started with `--control PORT` as workers (their supervisor's variable set): the stand-in workers of one test. */
function standInsOf(controlPort: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const i = argv.indexOf("--control");
      const worker = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").some((v) => v.startsWith("TWINE_SUPERVISOR="));
      if (i >= 0 && argv[i + 1] === String(controlPort) && worker && alive(Number(entry))) found.push(Number(entry));
    } catch {
      // Gone while listing.
    }
  }
  return found;
}

// The stand-ins do not listen, so the adapter plays no part: one pair per runtime.
const ONE_PER_RUNTIME = PAIRS.filter((p) => p.adapter === "native");

test.each(ONE_PER_RUNTIME)(
  "$name: the supervisor gives up with exit 1 when a restarted worker keeps dying at start",
  async (pair) => {
    const control = await controlServer();
    try {
      const server = await startProcess(pair.name, [...supervisorRuntime(pair), "test/fixtures/stand_in_workers.ts", "--control", String(control.port)]);
      control.answer = "fail";
      process.kill(workerPids(server.output()).get(1)!, "SIGKILL");
      const [code] = (await once(server.child, "close")) as [number | null];
      expect(code).toBe(1);
      const output = server.output();
      expect(output).toMatch(/^Worker 1 \(pid \d+\) exited \(SIGKILL\); restarting in 0\.1 s$/m);
      expect(output).toMatch(/^Worker 1 \(pid \d+\) exited \(status 1\); restarting in 1\.6 s$/m);
      expect(output).toMatch(/^stand-in: Worker 1 keeps dying \(6 times in a row, last status 1\); giving up$/m);
      expect(output).not.toMatch(/Stopped on/);
      // Two first starts and five restarts asked the control server.
      expect(control.pids).toHaveLength(7);
    } finally {
      control.close();
    }
  },
);

// Regression: a signal while the first worker was starting still started the others, which outlived the supervisor.
describe.each(ONE_PER_RUNTIME)("$name: a signal before every worker has started", (pair) => {
  test.each([
    ["drains on it", [], /^Stopped on SIGTERM: served 0 connections, echoed 0 bytes over 1 worker \(0 connections\)$/m],
    ["dies of it", ["--die-on-signal"], /^Stopped on SIGTERM: served 0 connections, echoed 0 bytes over 0 workers$/m],
  ])("stops the starting worker, which %s, starts no other, and exits 0 leaving no process", async (_how, flags, line) => {
    const control = await controlServer();
    control.answer = "hold";
    const command = [...supervisorRuntime(pair), "test/fixtures/stand_in_workers.ts", "--control", String(control.port), ...flags];
    const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
    const closed = once(child, "close");
    try {
      // Worker 1 has started and waits for its answer: the supervisor is mid-start.
      await expect.poll(() => control.pids.length, { timeout: 30_000, interval: 20 }).toBe(1);
      child.kill("SIGTERM");
      await expect.poll(() => output, { timeout: 30_000, interval: 20 }).toMatch(/^Stopping on SIGTERM/m);
      // A worker wrongly started after the signal then starts quickly, as a real one does, and shows.
      control.answer = "listen";
      const [code] = (await closed) as [number | null];
      expect(code, output).toBe(0);
      expect(output).toMatch(/^Stopping on SIGTERM: 1 worker draining for up to 1 s/m);
      expect(output).not.toMatch(/Worker \d+ started/);
      expect(output).toMatch(line);
      // A worker started after the signal would be alive now, orphaned (or still starting).
      expect(standInsOf(control.port)).toEqual([]);
      expect(control.pids.filter(alive)).toEqual([]);
    } finally {
      for (const pid of standInsOf(control.port)) process.kill(pid, "SIGKILL");
      child.kill("SIGKILL");
      control.close();
    }
  });
});

describe.each(PAIRS)("$name with --workers 2", (pair) => {
  test("200 connections are spread over both workers, every byte comes back, and the summary sums them", async () => {
    const server = await startProcess(pair.name, supervisorCommand(pair, ["--workers", "2"]));
    const payload = new Uint8Array(16 * 1024).map((_, i) => (i * 13) & 0xff);
    let done = 0;
    for (let batch = 0; batch < 4; batch++) {
      const results = await Promise.all(Array.from({ length: 50 }, () => echo(server.port, payload, [4096])));
      for (const r of results) {
        expect(r.error).toBeUndefined();
        expect(r.received.equals(payload)).toBe(true);
        done++;
      }
    }
    expect(done).toBe(200);
    const { code, output } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    const s = summary(output);
    expect(s.served).toBe(200);
    expect(s.echoed).toBe(200 * payload.length);
    expect(s.each).toHaveLength(2);
    for (const n of s.each) expect(n).toBeGreaterThan(0);
  });

  test("a SIGKILLed worker's connections drop, it is replaced, and new connections succeed throughout", async () => {
    const server = await startProcess(pair.name, supervisorCommand(pair, ["--workers", "2", "--grace", "1"]));
    const before = workerPids(server.output());
    expect(before.size).toBe(2);
    const open = await Promise.all(Array.from({ length: 20 }, () => connect(server.port)));
    for (const [i, sock] of open.entries()) expect(await roundTrip(sock, `hello ${i}`)).toBe(`hello ${i}`);
    // The client half-closes nothing, so a worker's death shows as the server's FIN or a reset.
    const closed = open.map((sock) => new Promise<boolean>((resolve) => {
      sock.on("error", () => resolve(true));
      sock.once("end", () => resolve(true));
      sock.once("close", () => resolve(true));
    }));
    const killed = before.get(1)!;
    process.kill(killed, "SIGKILL");
    // Connections queued on the dying listener are reset by the kernel; once it is gone, none may fail.
    await expect.poll(() => server.output(), { timeout: 10_000 }).toMatch(
      new RegExp(`Worker 1 \\(pid ${killed}\\) exited \\(SIGKILL\\); restarting in`),
    );
    let replaced = false;
    let afterReplace = 0;
    const deadline = Date.now() + 30_000;
    for (let i = 0; Date.now() < deadline && afterReplace < 20; i++) {
      const { received, error } = await echo(server.port, new TextEncoder().encode(`new ${i}`));
      expect(error).toBeUndefined();
      expect(received.toString()).toBe(`new ${i}`);
      if (!replaced) replaced = workerPids(server.output()).get(1) !== killed;
      else afterReplace++;
    }
    expect(replaced).toBe(true);
    // Those the killed worker held are gone; the others still echo.
    const gone = await Promise.all(closed.map((c) => Promise.race([c, new Promise<boolean>((r) => setTimeout(() => r(false), 500))])));
    const survivors = open.filter((_, i) => !gone[i]);
    expect(gone.filter(Boolean).length).toBeGreaterThan(0);
    expect(survivors.length).toBeGreaterThan(0);
    for (const sock of survivors) expect(await roundTrip(sock, "still")).toBe("still");
    for (const sock of open) sock.destroy();
    const { code } = await server.stop("SIGTERM");
    expect(code).toBe(0);
  });

  test.each(["SIGTERM", "SIGINT"] as const)("%s to the supervisor with transfers in flight echoes every accepted byte and exits 0", async (signal) => {
    const server = await startProcess(pair.name, supervisorCommand(pair, ["--workers", "2", "--grace", "10"]));
    const pattern = new Pattern();
    const size = 1024 * 1024;
    const socks = await Promise.all(Array.from({ length: 20 }, () => connect(server.port)));
    const results = socks.map((sock) => collect(sock, 30_000));
    // A connection still in the kernel's accept queue is not yet accepted: wait for an echo from each.
    const first = socks.map((sock) => new Promise<void>((resolve) => sock.once("data", () => resolve())));
    await Promise.all(socks.map((sock) => writeAll(sock, [pattern.slice(0, size / 2)], false)));
    await Promise.all(first);
    const stopped = server.stop(signal);
    await Promise.all(socks.map((sock) => writeAll(sock, [pattern.slice(size / 2, size / 2)])));
    for (const r of await Promise.all(results)) {
      expect(r.error).toBeUndefined();
      expect(r.received.length).toBe(size);
      expect(pattern.mismatch(0, r.received)).toBe(-1);
    }
    const { code, output } = await stopped;
    expect(code).toBe(0);
    expect(output).toMatch(new RegExp(`^Stopping on ${signal}: 2 workers draining`, "m"));
    expect(summary(output)).toMatchObject({ signal, echoed: 20 * size });
  });

  test("workers whose supervisor is SIGKILLed drain and exit instead of lingering", async () => {
    const server = await startProcess(pair.name, supervisorCommand(pair, ["--workers", "2", "--grace", "1"]));
    const pids = [...workerPids(server.output()).values()];
    expect(pids).toHaveLength(2);
    await server.stop("SIGKILL");
    await expect.poll(() => pids.filter(alive), { timeout: 15_000, interval: 200 }).toEqual([]);
  });

  test("a second signal stops the supervisor and every worker at once, with a non-zero exit", async () => {
    const server = await startProcess(pair.name, supervisorCommand(pair, ["--workers", "2", "--grace", "60"]));
    const pids = [...workerPids(server.output()).values()];
    // Open connections keep the workers draining for the whole grace period.
    const socks = await Promise.all(Array.from({ length: 6 }, () => connect(server.port)));
    for (const sock of socks) expect(await roundTrip(sock, "x")).toBe("x");
    for (const sock of socks) sock.on("error", () => {});
    server.child.kill("SIGTERM");
    // Two signals sent at once may merge into one: send the second once the first is handled.
    await expect.poll(() => server.output()).toMatch(/Stopping on SIGTERM: 2 workers draining for up to 60 s/);
    // A repeat within SIGNAL_ECHO_MS is the same signal passed on by a wrapper: this one is sent again on purpose.
    await new Promise((resolve) => setTimeout(resolve, SIGNAL_ECHO_MS));
    const { code, output } = await server.stop("SIGTERM");
    expect(code).toBe(1);
    expect(output).toMatch(/^twine-echo: SIGTERM again, exiting now$/m);
    await expect.poll(() => pids.filter(alive), { timeout: 10_000, interval: 100 }).toEqual([]);
    for (const sock of socks) sock.destroy();
  });

  test.each([["0"], ["abc"], ["-2"]])("rejects --workers %s with one line and exit code 2", async (value) => {
    const command = supervisorCommand(pair, ["--workers", value]);
    const { execFile } = await import("node:child_process");
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(command[0]!, command.slice(1), { timeout: 30_000 }, (error, _stdout, stderr) => {
        resolve({ code: (error as { code?: number } | null)?.code ?? 0, stderr });
      });
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^twine-echo: Invalid (--workers '[^']+': expected an integer of at least 1, or auto|value '-2' for --workers \(see --help\))\n$/);
  });

  test("a port already in use stops the supervisor before it starts a worker, with one line and exit 1", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: "127.0.0.1", port: 0, exclusive: true }, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const command = supervisorCommand(pair, ["--workers", "2"]).map((a, i, all) => (all[i - 1] === "--port" ? String(port) : a));
      const { execFile } = await import("node:child_process");
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(command[0]!, command.slice(1), { timeout: 30_000 }, (error, _stdout, stderr) => {
          resolve({ code: (error as { code?: number } | null)?.code ?? 0, stderr });
        });
      });
      expect(code).toBe(1);
      // Regression: the worker's line and the supervisor's both said it.
      expect(stderr).toBe(`twine-echo: Cannot listen on 127.0.0.1:${port}: address already in use\n`);
    } finally {
      blocker.close();
    }
  });

  // Regression (issue 16, 1e): both servers' workers bound the port with SO_REUSEPORT and both said they listened.
  test("a second server with --workers refuses the port another server's workers share, in one line, exit 1", async () => {
    const first = await startProcess(pair.name, supervisorCommand(pair, ["--workers", "2"]));
    try {
      const command = supervisorCommand(pair, ["--workers", "2"]).map((a, i, all) => (all[i - 1] === "--port" ? String(first.port) : a));
      const r = await run(command, new Uint8Array(0), 30_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`twine-echo: Cannot listen on 127.0.0.1:${first.port}: address already in use\n`);
      expect(r.stdout.toString()).toBe("");
      // The first server goes on alone: every connection reaches one of its workers.
      for (let i = 0; i < 10; i++) expect((await echo(first.port, new TextEncoder().encode(`one ${i}`))).received.toString()).toBe(`one ${i}`);
    } finally {
      const { code, output } = await first.stop("SIGTERM");
      expect(code).toBe(0);
      expect(summary(output).served).toBe(10);
    }
  });
});
