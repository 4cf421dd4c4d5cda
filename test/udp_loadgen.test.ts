// The load generator's udp mode, which the benchmark's UDP rows rest on: it must see
// every echo, and count what a server does not answer as lost.
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { buildNative } from "../bench/build.ts";
import { PAIRS } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";
import { udpCommand } from "../tools/udp.ts";
import { withServer } from "./helpers/with_server.ts";

const run = promisify(execFile);
const node = PAIRS.find((p) => p.runtime === "node")!;

async function loadgen(port: number): Promise<{ operations: number; sent: number; late: number; lost: number; errors: string[] }> {
  const { loadgen } = buildNative();
  const { stdout } = await run(loadgen, ["udp", "127.0.0.1", String(port), "8", "64", "0.5", "0.1", `${tmpdir()}/twine-udp-test-${process.pid}.bin`]);
  return JSON.parse(stdout.trim().split("\n").at(-1)!).outcome;
}

test("loadgen udp checks every echo, and counts datagrams a rate-limited server drops as lost", async () => {
  const start = (rate: string) =>
    startProcess("node", [...udpCommand(node), "bin/echo.ts", "--port", "0", "--udp", "--udp-rate", rate, "--grace", "0"]);
  await withServer(start("0"), async (server) => {
    const out = await loadgen(server.port);
    expect(out.errors).toEqual([]);
    expect(out.operations).toBeGreaterThan(100);
    expect(out.lost).toBe(0);
  });
  await withServer(start("100"), async (server) => {
    const out = await loadgen(server.port);
    expect(out.errors).toEqual([]);
    // 100 per second from one address, 8 sockets each stalled 200 ms per drop: most are lost.
    expect(out.operations).toBeLessThan(200);
    expect(out.lost).toBeGreaterThan(0);
  });
});
