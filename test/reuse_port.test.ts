// reusePort on a Node that ignores it (before 22.12): listen refuses it in one line, never a misleading "address
// already in use", and echo --workers runs through node:cluster instead.
import { execFile } from "node:child_process";
import { describe, expect, test } from "vitest";
import { reusePortUnsupported } from "../adapters/node/reuse_port.ts";
import { workerMode } from "../runner/worker_mode.ts";
import { drainsOnCtrlC, replacesAKilledWorker, spreadsAndDrains } from "./helpers/cluster_workers.ts";
import { BINARIES, ROOT } from "../tools/runtimes.ts";

describe("reusePortUnsupported", () => {
  test.each(["20.20.2", "20.0.0", "22.11.0", "22.0.0", "23.0.0", "v22.11.9"])("refuses Node %s", (version) => {
    expect(reusePortUnsupported({ name: "node", version })).toBe(`reusePort needs Node 22.12 or later (this is ${version})`);
  });

  test.each(["22.12.0", "22.20.1", "23.1.0", "24.0.0", "26.10.0"])("accepts Node %s", (version) => {
    expect(reusePortUnsupported({ name: "node", version })).toBeUndefined();
  });

  test("accepts Bun and Deno whatever their version, and a Node version it cannot read", () => {
    expect(reusePortUnsupported({ name: "bun", version: "1.0.0" })).toBeUndefined();
    expect(reusePortUnsupported({ name: "deno", version: "2.0.0" })).toBeUndefined();
    expect(reusePortUnsupported({ name: "node", version: "unknown" })).toBeUndefined();
  });
});

// Node 20 cannot run the .ts sources, so Node 26 plays an old Node: the version is the only thing the check reads.
const AS_NODE_20 = ["--import", 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})'];

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BINARIES.node, [...AS_NODE_20, ...args], { cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: (error as { code?: number } | null)?.code ?? 0, stdout, stderr });
    });
  });
}

describe("workerMode", () => {
  test.each(["20.20.2", "22.11.0", "23.0.0"])("runs --workers through node:cluster on Node %s", (version) => {
    expect(workerMode({ name: "node", version })).toBe("cluster");
  });

  test.each([
    ["node", "22.12.0"],
    ["node", "23.1.0"],
    ["node", "26.0.0"],
    ["bun", "1.0.0"],
    ["deno", "2.0.0"],
  ] as const)("runs --workers over SO_REUSEPORT on %s %s", (name, version) => {
    expect(workerMode({ name, version })).toBe("reuse-port");
  });
});

describe("on a Node older than 22.12", () => {
  // The workers inherit the supervisor's execArgv, so they pose as Node 20 too.
  const command = [BINARIES.node, ...AS_NODE_20, "bin/echo.ts", "--port", "0", "--workers", "2", "--grace", "5"];

  test("echo --workers 2 runs through node:cluster: 50 connections of 64 KiB spread over both, and SIGTERM sums them", async () => {
    const output = await spreadsAndDrains(command);
    expect(output).toMatch(/^Echo server listening on 127\.0\.0\.1:\d+ \(node 20\.20\.2, adapter node:net, 2 workers\)$/m);
  });

  test("echo --workers 2 through node:cluster replaces a SIGKILLed worker without losing a connection", async () => {
    await replacesAKilledWorker(command);
  });

  test("echo --workers 2 through node:cluster drains once on a Ctrl-C that reaches every worker twice", async () => {
    await drainsOnCtrlC(command);
  });

  test("listen with reusePort rejects with a one-line ListenError, code ENOTSUP", async () => {
    const script = `
      import { listen } from "./adapters/node/tcp.ts";
      import { EchoFactory } from "./src/mod.ts";
      try { await listen(new EchoFactory(), { port: 0, reusePort: true }); console.log("listened"); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
    const { code, stdout } = await run(["--input-type=module", "-e", script]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      name: "ListenError",
      code: "ENOTSUP",
      message: "Cannot listen on 127.0.0.1:0: reusePort needs Node 22.12 or later (this is 20.20.2)",
    });
  });
});
