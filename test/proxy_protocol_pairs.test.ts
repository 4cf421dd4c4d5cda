import { describe, expect, test } from "vitest";
import { collect, connect, echo, writeAll } from "./helpers/client.ts";
import { withServer } from "./helpers/with_server.ts";
import { PAIRS } from "../tools/runtimes.ts";
import { startProcess, startServer } from "../tools/server_process.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** A v2 PROXY header for TCP over IPv6 from [2001:db8::7]:40000 to [2001:db8::1]:443. */
const V2_TCP6 = Uint8Array.from([
  ...SIG, 0x21, 0x21, 0, 36,
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  40000 >> 8, 40000 & 0xff, 443 >> 8, 443 & 0xff,
]);
const V2_LOCAL = Uint8Array.from([...SIG, 0x20, 0x00, 0, 0]);

async function whoami(port: number, header: Uint8Array) {
  const sock = await connect(port);
  const result = collect(sock, 10_000);
  await writeAll(sock, [header], false);
  const { received, error } = await result;
  expect(error).toBeUndefined();
  return JSON.parse(received.toString()) as { peer: { host: string; port: number }; host: { host: string; port: number } };
}

describe.each(PAIRS)("$name with the PROXY protocol", (pair) => {
  test("getPeer and getHost are the addresses a v1 or v2 header gives; LOCAL keeps the real ones", async () => {
    await withServer(startServer(pair, "test/fixtures/proxy_echo.ts", ["--proxy-protocol", "--whoami"]), async (server) => {
      const v1 = await whoami(server.port, enc("PROXY TCP4 198.51.100.7 203.0.113.9 40000 443\r\n"));
      expect(v1.peer).toEqual({ type: "TCP", host: "198.51.100.7", port: 40000 });
      expect(v1.host).toEqual({ type: "TCP", host: "203.0.113.9", port: 443 });
      const v2 = await whoami(server.port, V2_TCP6);
      expect(v2.peer).toEqual({ type: "TCP", host: "2001:db8::7", port: 40000 });
      expect(v2.host).toEqual({ type: "TCP", host: "2001:db8::1", port: 443 });
      const local = await whoami(server.port, V2_LOCAL);
      expect(local.peer.host).toBe("127.0.0.1");
      expect(local.host).toEqual({ type: "TCP", host: "127.0.0.1", port: server.port });
    });
  });

  test("the echo CLI with --proxy-protocol echoes what follows a header sent one byte per write", async () => {
    await withServer(startServer(pair, "bin/echo.ts", ["--proxy-protocol"]), async (server) => {
      // Regression: nothing on the start line said the endpoint wants a PROXY header first.
      expect(server.output()).toMatch(new RegExp(`^Echo server listening on 127\\.0\\.0\\.1:${server.port} \\(PROXY\\) \\(`, "m"));
      const payload = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
      const { received, error } = await echo(server.port, concat(V2_TCP6, payload), [...new Array(V2_TCP6.length).fill(1), 65536]);
      expect(error).toBeUndefined();
      expect(received.equals(payload)).toBe(true);
    });
  });

  test("the echo CLI's haproxy: endpoint reads the header first, as --proxy-protocol does", async () => {
    const started = startProcess(pair.name, [...pair.command, "bin/echo.ts", "--listen", "haproxy:tcp:0", "--adapter", pair.adapter]);
    await withServer(started, async (server) => {
      expect(server.output()).toMatch(new RegExp(`^Echo server listening on 127\\.0\\.0\\.1:${server.port} \\(PROXY\\) \\(`, "m"));
      const proxied = await echo(server.port, concat(enc("PROXY TCP4 198.51.100.7 203.0.113.9 40000 443\r\n"), enc("hello")));
      expect(proxied.received.toString()).toBe("hello");
      const bare = await echo(server.port, enc("hello, no header\r\n"));
      expect(bare.received.length).toBe(0);
    });
  });

  test("without --proxy-protocol a PROXY header is echoed as data", async () => {
    await withServer(startServer(pair, "bin/echo.ts"), async (server) => {
      const input = enc("PROXY TCP4 198.51.100.7 203.0.113.9 40000 443\r\nhello");
      const { received } = await echo(server.port, input);
      expect(received.equals(input)).toBe(true);
    });
  });

  test("connections with a bad, truncated or late header are closed unanswered, logged at most once a second", async () => {
    const started = startServer(pair, "test/fixtures/proxy_echo.ts", ["--proxy-protocol", "--header-timeout", "300"]);
    await withServer(started, async (server) => {
      const before = Date.now();
      const bad = [
        enc("GET / HTTP/1.0\r\n\r\n"),
        enc("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
        enc(`PROXY UNKNOWN ${"f".repeat(120)}\r\n`),
        Uint8Array.from([...SIG, 0x21, 0x11, 0xff, 0xff]),
      ];
      const results = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const sock = await connect(server.port);
          const result = collect(sock, 10_000);
          sock.on("error", () => {});
          await writeAll(sock, [bad[i % bad.length]!], false).catch(() => {});
          return result;
        }),
      );
      for (const r of results) expect(r.received.length).toBe(0);
      // Truncated: the peer half-closes mid-header. Late: nothing more arrives within the timeout.
      const truncated = await connect(server.port);
      const truncatedResult = collect(truncated, 10_000);
      truncated.end("PROXY TCP4 1.2.");
      const late = await connect(server.port);
      const lateResult = collect(late, 10_000);
      late.write("PROXY TCP4 ");
      late.on("error", () => {});
      truncated.on("error", () => {});
      expect((await truncatedResult).received.length).toBe(0);
      const lateExchange = await lateResult;
      expect(lateExchange.received.length).toBe(0);
      expect(lateExchange.error?.message ?? "").not.toMatch(/still open/);
      const logged = () => server.output().split("\n").filter((l) => l.startsWith("Closed a connection from"));
      // The log reaches us through a pipe, maybe after the connection's close: poll.
      await expect.poll(() => logged().length).toBeGreaterThanOrEqual(1);
      const seconds = (Date.now() - before) / 1000;
      expect(logged().length).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
      expect(server.output()).not.toMatch(/^connection from/m);
    });
  });
});
