import { randomBytes } from "node:crypto";
import net from "node:net";
import { describe, expect, test } from "vitest";
import { PAIRS } from "../tools/runtimes.ts";
import { openFds, startProcess, startServer } from "../tools/server_process.ts";
import { connect, echo } from "./helpers/client.ts";
import { withServer } from "./helpers/with_server.ts";

const RESETS = 500;
const CROWD = 150;
const FD_LIMIT = 64;
const SHORTAGE_MS = 1500;

/** Connects, sends 1 KiB, and closes with RST (SO_LINGER 0); resolves once the socket is closed. */
function connectSendReset(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.once("connect", () => sock.write(randomBytes(1024), () => sock.resetAndDestroy()));
    sock.once("error", reject);
    sock.once("close", () => resolve());
  });
}

/** Echoes 100 kB and resolves with how long it took, in milliseconds. */
async function timedEcho(port: number): Promise<number> {
  const payload = randomBytes(100_000);
  const started = performance.now();
  const { received } = await echo(port, payload);
  const took = performance.now() - started;
  expect(received.equals(payload)).toBe(true);
  return took;
}

/** What the server wrote besides its start and stop lines. */
function noise(output: string): string[] {
  return output.split("\n").filter((line) => line !== "" && !/listening on|^Stopped on/.test(line));
}

describe.each(PAIRS)("$name accepting through faults", (pair) => {
  test(`${RESETS} connections reset before accept neither stall the listener nor log a line each`, async () => {
    await withServer(startServer(pair, "bin/echo.ts", ["--grace", "0"]), async (server) => {
      // Stopped, the server cannot accept: every connection waits in the kernel's queue and is reset there.
      process.kill(server.pid, "SIGSTOP");
      try {
        await Promise.all(Array.from({ length: RESETS }, () => connectSendReset(server.port)));
      } finally {
        process.kill(server.pid, "SIGCONT");
      }
      expect(await timedEcho(server.port), server.output()).toBeLessThan(1000);
      expect(noise(server.output()).length, server.output()).toBeLessThanOrEqual(2);
    });
  });

  test(`with ${FD_LIMIT} open files allowed, ${CROWD} clients at once neither stop nor flood it, and it serves again once they leave`, async () => {
    const command = ["sh", "-c", `ulimit -n ${FD_LIMIT} && exec "$@"`, "sh", ...pair.command];
    const args = ["bin/echo.ts", "--port", "0", "--adapter", pair.adapter, "--grace", "0"];
    await withServer(startProcess(pair.name, [...command, ...args]), async (server) => {
      const idle = openFds(server.pid);
      const crowd = await Promise.all(Array.from({ length: CROWD }, () => connect(server.port)));
      // Node closes at once what it cannot take (libuv's spare descriptor), so listen for close from the start.
      const left = crowd.map((sock) => new Promise((resolve) => sock.once("close", resolve)));
      for (const sock of crowd) {
        sock.on("error", () => {});
        sock.write("hi");
      }
      // Every runtime takes connections until it runs out of descriptors; wait until it has.
      await expect.poll(() => openFds(server.pid), { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(FD_LIMIT - 4);
      // Not a wait for an event: the shortage must last long enough that a line per failure would show.
      await new Promise((resolve) => setTimeout(resolve, SHORTAGE_MS));
      for (const sock of crowd) sock.destroy();
      await Promise.all(left);
      // Left once the server has closed their descriptors: until then Node closes what it cannot take (libuv's spare).
      await expect.poll(() => openFds(server.pid), { timeout: 10_000, interval: 20 }).toBeLessThanOrEqual(idle + 4);
      expect(await timedEcho(server.port), server.output()).toBeLessThan(1000);
      expect(server.child.exitCode).toBeNull();
      expect(noise(server.output()).length, server.output()).toBeLessThanOrEqual(5);
    });
  });
});
