import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BINARIES, PAIRS, ROOT } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";
import { collect, connect } from "./helpers/client.ts";

/** Runs a command to its end, with a bound, and returns its exit code and output. */
async function run(command: readonly string[], ms = 30_000) {
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

let busy: net.Server;
let busyPort: number;

beforeAll(async () => {
  busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  busyPort = (busy.address() as net.AddressInfo).port;
});

afterAll(() => {
  busy.close();
});

describe.each(PAIRS)("echo CLI on $name", (pair) => {
  const cli = (...args: string[]) => [...pair.command, "bin/echo.ts", "--adapter", pair.adapter, ...args];

  test.each([
    [["--port", "70000"], "twine-echo: Invalid port '70000': expected an integer from 0 to 65535"],
    [["--port", "abc"], "twine-echo: Invalid port 'abc': expected an integer from 0 to 65535"],
    [["--port", "-1"], "twine-echo: Invalid port '-1': expected an integer from 0 to 65535"],
    [["--bogus"], "twine-echo: Unknown option --bogus (see --help)"],
    [["--adapter", "uv"], "twine-echo: Invalid adapter 'uv': expected native or node"],
    [["extra"], "twine-echo: Unexpected argument extra (see --help)"],
  ])("rejects %j with one line and exit code 2", async (args, message) => {
    const r = await run(cli(...args));
    expect(r.stderr).toBe(`${message}\n`);
    expect(r.code).toBe(2);
  });

  test("reports a port already in use in one line and exits 1", async () => {
    const r = await run(cli("--port", String(busyPort)));
    expect(r.stderr).toBe(`twine-echo: Cannot listen on 127.0.0.1:${busyPort}: address already in use\n`);
    expect(r.code).toBe(1);
  });

  // Regression: a single process said nothing on SIGTERM until it had drained, however long that took.
  test("says at once on SIGTERM how many connections it drains and for how long, then sums them up on exit", async () => {
    const server = await startProcess(pair.name, cli("--port", "0", "--grace", "30"));
    const socks = await Promise.all([connect(server.port), connect(server.port)]);
    const replies = socks.map((sock) => collect(sock));
    for (const [i, sock] of socks.entries()) {
      const echoed = once(sock, "data");
      sock.write(`before ${i};`);
      await echoed;
    }
    server.child.kill("SIGTERM");
    // Both connections are still open: the line comes before the drain, not after it.
    await expect.poll(() => server.output(), { timeout: 10_000 }).toMatch(
      /^Stopping on SIGTERM: 2 connections draining for up to 30 s \(SIGTERM again stops at once\)$/m,
    );
    expect(server.output()).not.toMatch(/Stopped on/);
    for (const [i, sock] of socks.entries()) sock.end(`after ${i}`);
    for (const [i, reply] of replies.entries()) expect((await reply).received.toString()).toBe(`before ${i};after ${i}`);
    // Drained, it exits by itself (stop() would signal again, and a second signal exits 1).
    await expect.poll(() => server.child.exitCode, { timeout: 10_000 }).toBe(0);
    await expect.poll(() => server.output()).toMatch(/^Stopped on SIGTERM: served 2 connections, echoed \d+ bytes$/m);
  });

  test("prints usage for --help and exits 0", async () => {
    const r = await run(cli("--help"));
    expect(r.stdout).toMatch(/^Usage: twine-echo \[options\]/);
    expect(r.code).toBe(0);
  });
});

test.each(["native", "node"])("deno without --allow-net says which flag to add (%s adapter)", async (adapter) => {
  const r = await run([BINARIES.deno, "run", "bin/echo.ts", "--port", "0", "--adapter", adapter]);
  expect(r.stderr).toBe("twine-echo: Cannot listen on 127.0.0.1:0: network access denied; run deno with --allow-net\n");
  expect(r.code).toBe(1);
});
