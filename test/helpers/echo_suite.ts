import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, test as vitest } from "vitest";
import { collect, connect, echo, Pattern, type Target, writeAll } from "./client.ts";
import { residentBytes, type ServerProcess } from "../../tools/server_process.ts";

const MiB = 1024 * 1024;
const ODD_SIZES = [1, 7, 4093, 65537, 13, 100_003, 2];

/**
 * The echo conformance suite, as a function of how to start the server: every
 * runtime x adapter pair and every bare reference server must pass it.
 *
 * @param start Starts the server as a child process on 127.0.0.1, port 0.
 * @param stopped Checks the server's exit after SIGTERM.
 * @param reach Where clients connect: the server's TCP port unless given (a Unix socket path, say).
 * @param skip Tests a pair cannot pass, by name, each with the reason it is skipped.
 */
export function echoSuite(
  start: () => Promise<ServerProcess>,
  stopped: (result: { code: number | null; output: string }) => void,
  reach: (server: ServerProcess) => Target = (s) => s.port,
  skip: Readonly<Record<string, string>> = {},
): void {
  const test = (name: string, fn: () => Promise<void>) =>
    name in skip ? vitest.skip(`${name} (skipped: ${skip[name]})`, fn) : vitest(name, fn);
  let server: ServerProcess;
  let target: Target;

  beforeAll(async () => {
    server = await start();
    target = reach(server);
  });

  afterAll(async () => {
    stopped(await server.stop("SIGTERM"));
  });

  test("echoes a single byte", async () => {
    const r = await echo(target, Uint8Array.of(0x2a));
    expect(r.error).toBeUndefined();
    expect([...r.received]).toEqual([0x2a]);
    expect(r.ended).toBe(true);
  });

  test("echoes a 4 MiB random payload byte for byte, sent in odd-sized chunks", async () => {
    const payload = randomBytes(4 * MiB);
    const r = await echo(target, payload, ODD_SIZES);
    expect(r.error).toBeUndefined();
    expect(r.received.length).toBe(payload.length);
    expect(r.received.equals(payload)).toBe(true);
  });

  test("serves 200 concurrent half-closing connections, each getting its own payload back whole", async () => {
    const payloads = Array.from({ length: 200 }, (_, i) => randomBytes(1000 + i * 997));
    const results = await Promise.all(payloads.map((p) => echo(target, p, [333, 4096])));
    results.forEach((r, i) => {
      expect(r.error).toBeUndefined();
      expect(r.received.equals(payloads[i]!)).toBe(true);
    });
  });

  test("finishes echoing after the peer half-closes, then closes", async () => {
    const sock = await connect(target);
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
      const sock = await connect(target);
      sock.on("error", () => {});
      sock.write(randomBytes(512 * 1024));
      await new Promise((resolve) => sock.once("data", resolve));
      // A Unix socket has no RST, nor has TLS over node:tls; closing with unread input is the abrupt end they have.
      if (typeof target !== "number") sock.destroy();
      else sock.resetAndDestroy();
      const payload = randomBytes(64 * 1024);
      const r = await echo(target, payload, [1000]);
      expect(r.error).toBeUndefined();
      expect(r.received.equals(payload)).toBe(true);
    }
    expect(server.child.exitCode).toBeNull();
  });

  test("bounds memory while a peer sends 256 MiB without reading, then echoes every byte", async () => {
    const total = 256 * MiB;
    const pattern = new Pattern();
    const sock = await connect(target);
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
    const sock = await connect(target);
    const result = collect(sock);
    const chunks = Array.from({ length: 2000 }, (_, i) => pattern.slice(i * 512, 512));
    await writeAll(sock, chunks);
    const r = await result;
    expect(r.error).toBeUndefined();
    expect(r.received.length).toBe(2000 * 512);
    expect(pattern.mismatch(0, r.received)).toBe(-1);
  });
}
