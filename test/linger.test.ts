// The lingering close on every pair: after loseConnection() and our FIN the server reads and
// discards until the peer's FIN, so that unread input does not make the kernel answer with RST
// and destroy output the peer has not read; and the wait is bounded as nginx bounds it, by
// lingerTimeout in all, lingerIdleTimeout between reads, and lingerBytes discarded.
import type net from "node:net";
import { describe, expect, test } from "vitest";
import { PAIRS } from "../tools/runtimes.ts";
import { startServer } from "../tools/server_process.ts";
import { connect } from "./helpers/client.ts";
import { withServer } from "./helpers/with_server.ts";

/** What a peer that went on after the server's FIN saw. */
interface AfterFin {
  /** When the server's FIN arrived. */
  finAt: number;
  /** When the socket closed, or `undefined` if it was still open after 15 s. */
  closedAt: number | undefined;
  received: string;
  error: Error | undefined;
}

/**
 * Sends `lines`, then a line past the server's maxLength (the protocol closes with a FramingError),
 * and once the server's FIN arrives runs `then`, which does not end our side unless it says so.
 */
function breakFraming(sock: net.Socket, lines: string, then: () => Promise<void>): Promise<AfterFin> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: Error | undefined;
    let finAt = NaN;
    const timer = setTimeout(() => {
      resolve({ finAt, closedAt: undefined, received: Buffer.concat(chunks).toString(), error });
      sock.destroy();
    }, 15_000);
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("error", (e) => (error ??= e));
    sock.once("end", () => {
      finAt = Date.now();
      void then();
    });
    sock.once("close", () => {
      clearTimeout(timer);
      resolve({ finAt, closedAt: Date.now(), received: Buffer.concat(chunks).toString(), error });
    });
    sock.write(`${lines}${"y".repeat(100)}\n`);
  });
}

describe.each(PAIRS)("lingering close on $name", { timeout: 60_000 }, (pair) => {
  const lines = (...args: string[]) => startServer(pair, "test/fixtures/server.ts", ["--protocol", "lines", ...args]);

  test("a peer that sends less than lingerBytes after the FIN, then its own FIN, gets every answer and a clean close", async () => {
    await withServer(lines("--linger-bytes", "1048576"), async (server) => {
      const sock = await connect(server.port);
      const r = await breakFraming(sock, "ok?\n".repeat(1000), async () => {
        for (let i = 0; i < 8; i++) sock.write(new Uint8Array(65536));
        sock.end();
      });
      expect(r.error).toBeUndefined();
      expect(r.closedAt).toBeDefined();
      expect(r.received).toBe("ok\n".repeat(1000));
    });
  });

  test("a peer that keeps sending after the FIN is cut off once it has sent lingerBytes, long before lingerTimeout", async () => {
    await withServer(lines("--linger-timeout", "30000", "--linger-idle-timeout", "30000", "--linger-bytes", "1048576"), async (server) => {
      const sock = await connect(server.port);
      const lost = new RegExp(`^lost ${sock.localPort} FramingError x1$`, "m");
      const chunk = new Uint8Array(65536);
      const r = await breakFraming(sock, "", async () => {
        for (let i = 0; i < 100_000 && !sock.destroyed; i++) {
          if (!sock.write(chunk)) await new Promise((resolve) => sock.once("drain", resolve).once("close", resolve));
        }
      });
      expect(r.closedAt).toBeDefined();
      expect(r.closedAt! - r.finAt).toBeLessThan(10_000);
      await expect.poll(() => server.output()).toMatch(lost);
    });
  });

  test("a peer that trickles bytes after the FIN and never sends its own is closed at lingerTimeout", async () => {
    await withServer(lines("--linger-timeout", "1000"), async (server) => {
      const sock = await connect(server.port);
      const lost = new RegExp(`^lost ${sock.localPort} FramingError x1$`, "m");
      const r = await breakFraming(sock, "", async () => {
        for (let i = 0; i < 200 && !sock.destroyed; i++) {
          sock.write(new Uint8Array(1));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      });
      expect(r.closedAt).toBeDefined();
      expect(r.closedAt! - r.finAt).toBeGreaterThanOrEqual(900);
      expect(r.closedAt! - r.finAt).toBeLessThan(5_000);
      await expect.poll(() => server.output()).toMatch(lost);
    });
  });

  test("a peer silent after the FIN is closed on after lingerIdleTimeout, long before lingerTimeout", async () => {
    await withServer(lines("--linger-timeout", "30000", "--linger-idle-timeout", "500"), async (server) => {
      const sock = await connect(server.port);
      const lost = new RegExp(`^lost ${sock.localPort} FramingError x1$`, "m");
      sock.on("error", () => {});
      const fin = new Promise<number>((resolve) => sock.once("end", () => resolve(Date.now())));
      sock.write(`${"y".repeat(100)}\n`);
      const finAt = await fin;
      // The server's close sends nothing more (its FIN is out): only its log shows it.
      await expect.poll(() => server.output(), { timeout: 10_000 }).toMatch(lost);
      expect(Date.now() - finAt).toBeLessThan(10_000);
      sock.destroy();
    });
  });
});
