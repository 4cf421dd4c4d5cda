import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, test, vi } from "vitest";
import { SIGNAL_ECHO_MS, SignalEchoes } from "../runner/signal_echoes.ts";
import { BINARIES, ROOT } from "../tools/runtimes.ts";
import { connect } from "./helpers/client.ts";

describe("SignalEchoes", () => {
  test("a repeat of the same signal within SIGNAL_ECHO_MS is an echo; later, or another signal, counts", () => {
    vi.useFakeTimers();
    try {
      const echoes = new SignalEchoes();
      expect(echoes.echo("SIGINT")).toBe(false);
      vi.advanceTimersByTime(SIGNAL_ECHO_MS - 1);
      expect(echoes.echo("SIGINT")).toBe(true);
      expect(echoes.echo("SIGTERM")).toBe(false);
      vi.advanceTimersByTime(SIGNAL_ECHO_MS);
      expect(echoes.echo("SIGTERM")).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});

test("a single-process server that gets one SIGTERM twice at once (a wrapper passing on the group's signal) drains once and exits 0", async () => {
  const child = spawn(BINARIES.node, ["bin/echo.ts", "--port", "0", "--grace", "1"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
  const closed = once(child, "close");
  await vi.waitFor(() => expect(output).toMatch(/listening on 127\.0\.0\.1:\d+/), { timeout: 10_000 });
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(output)![1]);
  const held = await connect(port);
  held.on("error", () => {});
  held.write("x");
  expect(String((await once(held, "data"))[0])).toBe("x");
  child.kill("SIGTERM");
  child.kill("SIGTERM");
  const [code] = (await closed) as [number | null];
  held.destroy();
  expect(output).not.toMatch(/again, exiting now/);
  expect(output).toMatch(/^Stopping on SIGTERM: 1 connection draining for up to 1 s/m);
  expect(code).toBe(0);
});
