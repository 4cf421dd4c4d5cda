// What `echo --workers 2` must do through node:cluster (Node before 22.12), run against any command that starts it:
// the built CLI on the system Node 20 (test/package) and the sources on Node 26 posing as 20 (test/reuse_port.test.ts).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { expect } from "vitest";
import { collect, connect, echo } from "./client.ts";
import { ROOT } from "../../tools/runtimes.ts";
import { startProcess } from "../../tools/server_process.ts";

const KIB64 = 64 * 1024;

function workerPids(output: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of output.matchAll(/Worker (\d+) started \(pid (\d+)\)/g)) pids.set(Number(m[1]), Number(m[2]));
  return pids;
}

function summary(output: string) {
  const m = /^Stopped on (\w+): served (\d+) connections?, echoed (\d+) bytes? over (\d+) workers? \(([\d +]+) connections\)$/m.exec(output);
  expect(m, output).not.toBeNull();
  return { signal: m![1], served: Number(m![2]), echoed: Number(m![3]), each: m![5]!.split(" + ").map(Number) };
}

async function echoAll(port: number, count: number, payload: Uint8Array): Promise<void> {
  const results = await Promise.all(Array.from({ length: count }, () => echo(port, payload, [4096])));
  for (const r of results) {
    expect(r.error).toBeUndefined();
    expect(r.received.equals(payload)).toBe(true);
  }
}

/**
 * 50 connections of 64 KiB each come back exactly, both workers serve some, and SIGTERM drains them into one summed line.
 *
 * @param command Starts `echo --workers 2 --port 0`.
 */
export async function spreadsAndDrains(command: readonly string[]): Promise<string> {
  const server = await startProcess("cluster workers", command);
  const payload = new Uint8Array(KIB64).map((_, i) => (i * 31 + 7) & 0xff);
  await echoAll(server.port, 50, payload);
  const { code, output } = await server.stop("SIGTERM");
  expect(output).toMatch(/^Stopping on SIGTERM: 2 workers draining for up to \d+ s/m);
  expect(summary(output)).toMatchObject({ signal: "SIGTERM", served: 50, echoed: 50 * KIB64 });
  const { each } = summary(output);
  expect(each).toHaveLength(2);
  for (const n of each) expect(n).toBeGreaterThan(0);
  expect(code).toBe(0);
  return output;
}

/**
 * A SIGKILLed worker is replaced, connections made meanwhile and after succeed, and SIGTERM still drains both.
 *
 * @param command Starts `echo --workers 2 --port 0`.
 */
export async function replacesAKilledWorker(command: readonly string[]): Promise<void> {
  const server = await startProcess("cluster workers", command);
  const killed = workerPids(server.output()).get(1)!;
  expect(killed).toBeGreaterThan(0);
  process.kill(killed, "SIGKILL");
  await expect.poll(() => server.output(), { timeout: 10_000 }).toMatch(
    new RegExp(`^Worker 1 \\(pid ${killed}\\) exited \\(SIGKILL\\); restarting in 0\\.1 s$`, "m"),
  );
  // The primary holds the socket and accepts for the workers: no connection is lost while one is down.
  const payload = new Uint8Array(KIB64).map((_, i) => (i * 17) & 0xff);
  await echoAll(server.port, 10, payload);
  await expect.poll(() => workerPids(server.output()).get(1), { timeout: 10_000 }).not.toBe(killed);
  await echoAll(server.port, 10, payload);
  const { code, output } = await server.stop("SIGTERM");
  // The killed worker served nothing: every connection was made after it died, and both that drained count them.
  expect(summary(output)).toMatchObject({ signal: "SIGTERM", served: 20, echoed: 20 * KIB64 });
  expect(summary(output).each).toHaveLength(2);
  expect(code).toBe(0);
}

/**
 * SIGINT to the whole process group, as a terminal's Ctrl-C: cluster workers share the supervisor's group, so each
 * gets it twice (from the terminal and from the supervisor), and must still drain once and exit 0.
 *
 * @param command Starts `echo --workers 2 --port 0`.
 */
export async function drainsOnCtrlC(command: readonly string[]): Promise<void> {
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
  const closed = once(child, "close");
  let signalled = false;
  try {
    await expect.poll(() => output, { timeout: 30_000, interval: 20 }).toMatch(/listening on 127\.0\.0\.1:\d+/);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(output)![1]);
    const payload = new Uint8Array(KIB64).map((_, i) => i & 0xff);
    await echoAll(port, 4, payload);
    // Held open across the signal, so that its worker is still draining when the supervisor passes the signal on.
    const held = await connect(port);
    const reply = collect(held);
    const echoed = once(held, "data");
    held.write("before");
    await echoed;
    process.kill(-child.pid!, "SIGINT");
    signalled = true;
    await expect.poll(() => output, { timeout: 10_000, interval: 20 }).toMatch(/^Stopping on SIGINT: 2 workers draining/m);
    held.end("after");
    expect((await reply).received.toString()).toBe("beforeafter");
  } finally {
    if (!signalled) process.kill(-child.pid!, "SIGINT");
  }
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 15_000);
  const [code] = (await closed) as [number | null];
  clearTimeout(timer);
  expect(output).not.toMatch(/exiting now/);
  expect(summary(output)).toMatchObject({ signal: "SIGINT", served: 5, echoed: 4 * KIB64 + "beforeafter".length });
  expect(code).toBe(0);
}
