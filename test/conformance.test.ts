import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { chunked, collect, connect, echo, Pattern, writeAll } from "./helpers/client.ts";
import { PAIRS } from "./helpers/runtimes.ts";
import { residentBytes, type ServerProcess, startServer } from "./helpers/server_process.ts";

const MiB = 1024 * 1024;
const ODD_SIZES = [1, 7, 4093, 65537, 13, 100_003, 2];

describe.each(PAIRS)("$name", (pair) => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer(pair, "bin/echo.ts", ["--grace", "2"]);
  });

  afterAll(async () => {
    // Killing it is the shutdown test: it must exit 0 with its summary line.
    const { code, output } = await server.stop("SIGTERM");
    expect(output).toMatch(/Stopped on SIGTERM: served \d+ connections, echoed \d+ bytes/);
    expect(code).toBe(0);
  });

  test("echoes a single byte", async () => {
    const r = await echo(server.port, Uint8Array.of(0x2a));
    expect(r.error).toBeUndefined();
    expect([...r.received]).toEqual([0x2a]);
    expect(r.ended).toBe(true);
  });

  test("echoes a 4 MiB random payload byte for byte, sent in odd-sized chunks", async () => {
    const payload = randomBytes(4 * MiB);
    const r = await echo(server.port, payload, ODD_SIZES);
    expect(r.error).toBeUndefined();
    expect(r.received.length).toBe(payload.length);
    expect(r.received.equals(payload)).toBe(true);
  });

  test("serves 100 concurrent connections without cross-talk", async () => {
    const payloads = Array.from({ length: 100 }, (_, i) => randomBytes(1000 + i * 997));
    const results = await Promise.all(payloads.map((p) => echo(server.port, p, [333, 4096])));
    results.forEach((r, i) => {
      expect(r.error).toBeUndefined();
      expect(r.received.equals(payloads[i]!)).toBe(true);
    });
  });

  test("finishes echoing after the peer half-closes, then closes", async () => {
    const sock = await connect(server.port);
    const result = collect(sock);
    const payload = randomBytes(256 * 1024);
    // Everything is sent and FIN follows at once: the echo must still come back whole.
    sock.end(payload);
    const r = await result;
    expect(r.error).toBeUndefined();
    expect(r.received.equals(payload)).toBe(true);
    expect(r.ended).toBe(true);
  });

  test("keeps serving others after a client resets mid-stream", async () => {
    for (let i = 0; i < 10; i++) {
      const sock = await connect(server.port);
      sock.on("error", () => {});
      sock.write(randomBytes(512 * 1024));
      await new Promise((resolve) => sock.once("data", resolve));
      sock.resetAndDestroy();
      const payload = randomBytes(64 * 1024);
      const r = await echo(server.port, payload, [1000]);
      expect(r.error).toBeUndefined();
      expect(r.received.equals(payload)).toBe(true);
    }
    expect(server.child.exitCode).toBeNull();
  });

  test("bounds memory while a peer sends 256 MiB without reading, then echoes every byte", async () => {
    const total = 256 * MiB;
    const pattern = new Pattern();
    const sock = await connect(server.port);
    sock.pause();
    let sent = 0;
    let peakRss = 0;
    const sample = () => (peakRss = Math.max(peakRss, residentBytes(server.pid)));
    const sampler = setInterval(sample, 50);

    // Phase 1: write without reading until the server stops taking data (no drain for 1 s).
    const stalled = await new Promise<boolean>((resolve) => {
      const pump = () => {
        while (sent < total) {
          const n = Math.min(256 * 1024, total - sent);
          const ok = sock.write(pattern.slice(sent, n));
          sent += n;
          if (!ok) {
            const onDrain = () => {
              clearTimeout(timer);
              pump();
            };
            const timer = setTimeout(() => {
              sock.off("drain", onDrain);
              resolve(true);
            }, 1000);
            sock.once("drain", onDrain);
            return;
          }
        }
        resolve(false);
      };
      pump();
    });
    sample();
    clearInterval(sampler);
    expect(stalled).toBe(true);
    expect(sent).toBeLessThan(total);
    expect(peakRss).toBeLessThan(200 * MiB);

    // Phase 2: read it all back while sending the rest.
    let received = 0;
    let firstBad = -1;
    const done = new Promise<void>((resolve, reject) => {
      sock.on("data", (chunk: Buffer) => {
        if (firstBad < 0) {
          const bad = pattern.mismatch(received, chunk);
          if (bad >= 0) firstBad = bad;
        }
        received += chunk.length;
      });
      sock.on("end", () => resolve());
      sock.on("error", reject);
    });
    sock.resume();
    const rest = (function* () {
      for (let at = sent; at < total; at += 256 * 1024) yield pattern.slice(at, Math.min(256 * 1024, total - at));
    })();
    await writeAll(sock, rest);
    await done;
    sock.destroy();
    expect(firstBad).toBe(-1);
    expect(received).toBe(total);
  });

  test("accepts a write of many chunks in a burst and returns them in order", async () => {
    const pattern = new Pattern(65_537);
    const sock = await connect(server.port);
    const result = collect(sock);
    const chunks = Array.from({ length: 2000 }, (_, i) => pattern.slice(i * 512, 512));
    await writeAll(sock, chunks);
    const r = await result;
    expect(r.error).toBeUndefined();
    expect(r.received.length).toBe(2000 * 512);
    expect(pattern.mismatch(0, r.received)).toBe(-1);
  });
});

describe.each(PAIRS)("$name with fixture protocols", (pair) => {
  test("refuses a connection when buildProtocol returns null", async () => {
    const server = await startServer(pair, "test/fixtures/server.ts", ["--protocol", "refuse"]);
    try {
      for (let i = 0; i < 3; i++) {
        const sock = await connect(server.port);
        const result = collect(sock);
        const r = await result;
        expect(r.received.length).toBe(0);
        expect(r.ended).toBe(true);
      }
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });

  test("getPeer and getHost report the real addresses", async () => {
    const server = await startServer(pair, "test/fixtures/server.ts", ["--protocol", "whoami"]);
    try {
      const sock = await connect(server.port);
      const local = { host: sock.localAddress, port: sock.localPort };
      const r = await collect(sock);
      const seen = JSON.parse(r.received.toString("utf8"));
      expect(seen.peer).toEqual({ type: "TCP", ...local });
      expect(seen.host).toEqual({ type: "TCP", host: "127.0.0.1", port: server.port });
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
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
    expect(output).toMatch(/served \d+ connections, echoed 200000 bytes/);
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
