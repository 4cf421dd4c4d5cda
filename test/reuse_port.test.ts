// reusePort on a Node that ignores it (before 22.12): refused in one line, never a misleading "address already in use".
import { execFile } from "node:child_process";
import { availableParallelism } from "node:os";
import { describe, expect, test } from "vitest";
import { reusePortUnsupported } from "../adapters/reuse_port.ts";
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

describe("on a Node older than 22.12", () => {
  test.each([["2"], ...(availableParallelism() > 1 ? [["auto"]] : [])])(
    "echo --workers %s refuses with one line and exit 2 before starting any worker",
    async (workers) => {
      const { code, stdout, stderr } = await run(["bin/echo.ts", "--port", "0", "--workers", workers]);
      const n = workers === "auto" ? availableParallelism() : 2;
      expect(stderr).toBe(`echo: Cannot start ${n} workers: reusePort needs Node 22.12 or later (this is 20.20.2)\n`);
      expect(stdout).toBe("");
      expect(code).toBe(2);
    },
  );

  test("listen with reusePort rejects with a one-line ListenError, code ENOTSUP", async () => {
    const script = `
      import { listen } from "./adapters/node.ts";
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
