import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { chunked, collect, connect } from "./helpers/client.ts";
import { echoSuite } from "./helpers/echo_suite.ts";
import { PAIRS } from "../tools/runtimes.ts";
import { startServer } from "../tools/server_process.ts";
import { withServer } from "./helpers/with_server.ts";

describe.each(PAIRS)("$name", (pair) => {
  echoSuite(
    () => startServer(pair, "bin/echo.ts", ["--grace", "2"]),
    ({ code, output }) => {
      // Killing it is a shutdown test too: it must exit 0 with its summary line.
      expect(output).toMatch(/Stopped on SIGTERM: served \d+ connections?, echoed \d+ bytes?/);
      expect(code).toBe(0);
    },
  );
});

describe.each(PAIRS)("$name with fixture protocols", (pair) => {
  test("refuses a connection when buildProtocol returns null", async () => {
    await withServer(startServer(pair, "test/fixtures/server.ts", ["--protocol", "refuse"]), async (server) => {
      for (let i = 0; i < 3; i++) {
        const sock = await connect(server.port);
        const result = collect(sock);
        const r = await result;
        expect(r.received.length).toBe(0);
        expect(r.ended).toBe(true);
      }
    });
  });

  test("getPeer and getHost report the real addresses", async () => {
    await withServer(startServer(pair, "test/fixtures/server.ts", ["--protocol", "whoami"]), async (server) => {
      const sock = await connect(server.port);
      const local = { host: sock.localAddress, port: sock.localPort };
      const r = await collect(sock);
      const seen = JSON.parse(r.received.toString("utf8"));
      expect(seen.peer).toEqual({ type: "TCP", ...local });
      expect(seen.host).toEqual({ type: "TCP", host: "127.0.0.1", port: server.port });
    });
  });
});

// Keeps `chunked` honest: the suite relies on it covering the payload exactly.
test("chunked covers a payload exactly in the given sizes", () => {
  const data = randomBytes(100);
  const parts = [...chunked(data, [7, 3])];
  expect(Buffer.concat(parts).equals(data)).toBe(true);
  expect(parts.slice(0, 3).map((p) => p.length)).toEqual([7, 3, 7]);
});

describe.each(PAIRS)("$name shutting down", (pair) => {
  test("the summary line counts one connection and one byte in the singular", async () => {
    const server = await startServer(pair, "bin/echo.ts", ["--grace", "1"]);
    const sock = await connect(server.port);
    const result = collect(sock);
    sock.end("x");
    const r = await result;
    expect(r.received.toString()).toBe("x");
    const { code, output } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    expect(output).toMatch(/^Stopped on SIGTERM: served 1 connection, echoed 1 byte$/m);
  });

  test("on SIGTERM stops accepting, finishes echoing an open connection, then exits 0", async () => {
    const server = await startServer(pair, "bin/echo.ts", ["--grace", "10"]);
    const sock = await connect(server.port);
    const result = collect(sock);
    const first = randomBytes(100_000);
    sock.write(first);
    await new Promise((resolve) => sock.once("data", resolve));
    const stopped = server.stop("SIGTERM");
    // Wait for the listener to close: new connections are refused from then on.
    await expect.poll(() => connect(server.port).then((s) => (s.destroy(), "accepted"), () => "refused"), {
      timeout: 10_000,
    }).toBe("refused");
    const second = randomBytes(100_000);
    sock.end(second);
    const r = await result;
    expect(r.received.equals(Buffer.concat([first, second]))).toBe(true);
    const { code, output } = await stopped;
    expect(code).toBe(0);
    // The probes above may have been served too, so count bytes, not connections.
    expect(output).toMatch(/served \d+ connections?, echoed 200000 bytes/);
  });

  test("closes an idle connection after the grace period, and a second signal exits at once", async () => {
    const server = await startServer(pair, "bin/echo.ts", ["--grace", "0.2"]);
    const idle = await connect(server.port);
    const r = collect(idle);
    // One round trip first: a connection still in the kernel's accept queue is reset, not served.
    idle.write("x");
    await new Promise((resolve) => idle.once("data", resolve));
    const { code } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    expect((await r).ended).toBe(true);

    const again = await startServer(pair, "bin/echo.ts", ["--grace", "30"]);
    const held = await connect(again.port);
    held.on("error", () => {});
    held.write("x");
    await new Promise((resolve) => held.once("data", resolve));
    const started = Date.now();
    again.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await again.stop("SIGINT");
    expect(second.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    held.destroy();
  });
});
