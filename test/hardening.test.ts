import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { collect, connect, echo } from "./helpers/client.ts";
import { PAIRS } from "../tools/runtimes.ts";
import { startServer } from "../tools/server_process.ts";
import { withServer } from "./helpers/with_server.ts";

/** Sends `text` and resolves with the first chunk that comes back. */
function roundTrip(sock: Awaited<ReturnType<typeof connect>>, text: string): Promise<string> {
  return new Promise((resolve) => {
    sock.once("data", (d: Buffer) => resolve(d.toString()));
    sock.write(text);
  });
}

describe.each(PAIRS)("$name under limits and faults", (pair) => {
  test("closes connections past --max-connections at once, logs it, and serves the others", async () => {
    await withServer(startServer(pair, "bin/echo.ts", ["--max-connections", "2", "--grace", "0"]), async (server) => {
      const a = await connect(server.port);
      const b = await connect(server.port);
      expect(await roundTrip(a, "a")).toBe("a");
      expect(await roundTrip(b, "b")).toBe("b");
      const third = await connect(server.port);
      const refused = await collect(third, 10_000);
      expect(refused.received.length).toBe(0);
      expect(refused.ended).toBe(true);
      expect(await roundTrip(a, "still here")).toBe("still here");
      await expect.poll(() => server.output()).toMatch(/Refused 1 connection: 2 open, the most allowed/);
      a.destroy();
      b.destroy();
    });
  });

  test("closes 200 silent connections after --idle-timeout, but not one with traffic", async () => {
    // The busy connection's gaps (100 ms) stay far below the timeout even when a loaded machine stretches them.
    await withServer(startServer(pair, "bin/echo.ts", ["--idle-timeout", "1", "--grace", "0"]), async (server) => {
      const silent = await Promise.all(Array.from({ length: 200 }, () => connect(server.port)));
      const started = Date.now();
      const closed = Promise.all(
        silent.map((sock) => {
          sock.on("error", () => {});
          return collect(sock, 10_000);
        }),
      );
      const busy = await connect(server.port);
      for (let i = 0; i < 16; i++) {
        expect(await roundTrip(busy, String(i))).toBe(String(i));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (const r of await closed) expect(r.error?.message ?? "").not.toMatch(/still open/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(await roundTrip(busy, "alive")).toBe("alive");
      busy.destroy();
    });
  });

  test("--idle-timeout closes with FIN: the peer reads to the end, with no ECONNRESET", async () => {
    await withServer(startServer(pair, "bin/echo.ts", ["--idle-timeout", "0.5", "--grace", "0"]), async (server) => {
      const sock = await connect(server.port);
      expect(await roundTrip(sock, "hello")).toBe("hello");
      const r = await collect(sock, 10_000);
      expect(r.error).toBeUndefined();
      expect(r.ended).toBe(true);
    });
  });

  test("a protocol that throws closes only its own connection and logs the peer's address", async () => {
    await withServer(startServer(pair, "test/fixtures/server.ts", ["--protocol", "throws"]), async (server) => {
      const healthy = await connect(server.port);
      expect(await roundTrip(healthy, "before")).toBe("before");
      const doomed = await connect(server.port);
      doomed.on("error", () => {});
      const doomedPort = doomed.localPort;
      const r = collect(doomed, 10_000);
      doomed.write("boom");
      await r;
      await expect.poll(() => server.output()).toContain(
        `Protocol error on connection from 127.0.0.1:${doomedPort}: Error: boom`,
      );
      expect(await roundTrip(healthy, "after")).toBe("after");
      const payload = randomBytes(100_000);
      expect((await echo(server.port, payload, [999])).received.equals(payload)).toBe(true);
      healthy.destroy();
    });
  });

  test("write after the peer is gone, loseConnection twice and abort during a pending write: no error escapes, connectionLost runs once", async () => {
    await withServer(startServer(pair, "test/fixtures/server.ts", ["--protocol", "misuse"]), async (server) => {
      const ports: number[] = [];
      const lose = await connect(server.port);
      ports.push(lose.localPort!);
      const lost = collect(lose, 10_000);
      lose.write("lose");
      const r = await lost;
      expect(r.received.toString()).toBe("bye");
      expect(r.ended).toBe(true);

      const abort = await connect(server.port);
      ports.push(abort.localPort!);
      abort.on("error", () => {});
      abort.pause(); // never read: the 8 MiB stays queued when the abort comes
      const aborted = new Promise((resolve) => abort.once("close", resolve));
      // Bun and Node abort with RST; Deno cannot (no SO_LINGER) and its kernel sends FIN.
      abort.once("end", () => abort.destroy());
      abort.write("abort");
      abort.resume();
      await aborted;

      const gone = await connect(server.port);
      ports.push(gone.localPort!);
      gone.on("error", () => {});
      const goneClosed = new Promise((resolve) => gone.once("close", resolve));
      gone.write("later");
      await new Promise((resolve) => setTimeout(resolve, 20));
      gone.resetAndDestroy();
      await goneClosed;

      for (const port of ports) {
        await expect.poll(() => server.output(), { timeout: 10_000 }).toMatch(new RegExp(`lost ${port} \\w+ x1`));
      }
      await new Promise((resolve) => setTimeout(resolve, 300)); // past the 200 ms write-after-gone
      expect(server.output()).not.toMatch(/x2|Error|Uncaught|at /);
      expect(server.child.exitCode).toBeNull();
      const payload = randomBytes(10_000);
      expect((await echo(server.port, payload)).received.length).toBe(0); // misuse does not echo: still serving
    });
  });

  test("listens on IPv6 loopback with --host ::1 and reports the addresses in brackets", async () => {
    await withServer(startServer(pair, "bin/echo.ts", ["--host", "::1", "--grace", "0"]), async (server) => {
      expect(server.output()).toContain(`listening on [::1]:${server.port}`);
      const sock = await connect(server.port, "::1");
      expect(await roundTrip(sock, "six")).toBe("six");
      sock.destroy();
    });
  });
});
