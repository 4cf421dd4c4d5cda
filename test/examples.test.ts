// The examples, run as users run them (modules served by twine-serve), on every runtime (and adapter, for chat).
import type net from "node:net";
import { describe, expect, test } from "vitest";
import { PAIRS, withFileAccess } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";
import { collect, connect } from "./helpers/client.ts";

/** Reads lines from `sock` as they come. */
class Lines {
  readonly lines: string[] = [];
  ended = false;
  #rest = "";
  #waiters: (() => void)[] = [];
  constructor(sock: net.Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (s: string) => {
      const parts = (this.#rest + s).split("\n");
      this.#rest = parts.pop()!;
      this.lines.push(...parts);
      this.#wake();
    });
    sock.on("close", () => {
      this.ended = true;
      this.#wake();
    });
    sock.on("error", () => {});
  }
  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
  /** Resolves once `count` lines have arrived (or the socket closed). */
  async until(count: number, timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < count && !this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.lines;
  }
}

const RUNTIMES = PAIRS.filter((p) => p.adapter === "native");

describe.each(RUNTIMES.map(withFileAccess))("examples/upper.ts on $runtime", (pair) => {
  test("answers whole lines upper-cased, with a character split across reads intact", async () => {
    const server = await startProcess(pair.name, [...pair.command, "bin/serve.ts", "examples/upper.ts", "--port", "0"]);
    try {
      expect(server.output()).toMatch(/^examples\/upper\.ts listening on 127\.0\.0\.1:\d+ \(/);
      const sock = await connect(server.port);
      const result = collect(sock);
      for (const byte of new TextEncoder().encode("shout é\nno newline")) {
        sock.write(Uint8Array.of(byte));
        await new Promise((r) => setImmediate(r));
      }
      sock.end();
      expect((await result).received.toString()).toBe("hello 127.0.0.1\nSHOUT É\n");
    } finally {
      const { code, output } = await server.stop();
      expect(code).toBe(0);
      expect(output).toMatch(/^Stopped on SIGTERM: served 1 connection$/m);
    }
  });
});

describe.each(PAIRS.map(withFileAccess))("examples/chat.ts on $name", (pair) => {
  const start = () => startProcess(pair.name, [...pair.command, "bin/serve.ts", "examples/chat.ts", "--port", "0", "--adapter", pair.adapter]);

  async function join(port: number, name: string): Promise<{ sock: net.Socket; lines: Lines }> {
    const sock = await connect(port);
    const lines = new Lines(sock);
    sock.write(`${name}\n`);
    await lines.until(2);
    return { sock, lines };
  }

  test("asks for a name, refuses a taken one, and sends each line to the others only", async () => {
    const server = await start();
    try {
      const ann = await join(server.port, "ann");
      expect(ann.lines.lines).toEqual(["Welcome! What is your name?", "Hello ann; 0 others here."]);
      const bob = await join(server.port, "ann");
      expect(bob.lines.lines[1]).toBe("ann is taken. What is your name?");
      bob.sock.write("bob\r\n");
      // Regression: "1 others here".
      expect((await bob.lines.until(3))[2]).toBe("Hello bob; 1 other here.");
      expect((await ann.lines.until(3))[2]).toBe("* bob joined");
      bob.sock.write("hi ann, ");
      bob.sock.write("ça va?\n");
      expect((await ann.lines.until(4))[3]).toBe("bob: hi ann, ça va?");
      ann.sock.end();
      expect((await bob.lines.until(4))[3]).toBe("* ann left");
      expect(bob.lines.lines).not.toContain("ann: ");
      bob.sock.destroy();
    } finally {
      await server.stop();
    }
  });

  test("a burst of 100 KB from one client reaches every client that keeps reading, and disconnects none", async () => {
    const server = await start();
    try {
      const talker = await join(server.port, "talker");
      const readers = [];
      for (let i = 0; i < 8; i++) readers.push(await join(server.port, `r${i}`));
      // Each reader has seen every later join, so every reader is in the room.
      await Promise.all(readers.map((r, i) => r.lines.until(2 + (8 - 1 - i))));
      const before = readers.map((r) => r.lines.lines.length);
      const line = "x".repeat(99);
      talker.sock.write(`${line}\n`.repeat(1000));
      await Promise.all(readers.map((r, i) => r.lines.until(before[i]! + 1000)));
      for (const [i, r] of readers.entries()) {
        expect(r.lines.lines.slice(before[i]!).filter((l) => l === `talker: ${line}`)).toHaveLength(1000);
      }
      expect(server.output()).not.toMatch(/Disconnected/);
      for (const c of [talker, ...readers]) c.sock.destroy();
    } finally {
      await server.stop();
    }
  });

  test("disconnects a client that stops reading, and goes on serving the others", async () => {
    const server = await start();
    try {
      const talker = await join(server.port, "talker");
      const reader = await join(server.port, "reader");
      const slow = await join(server.port, "slow");
      slow.sock.pause();
      const line = "x".repeat(1000);
      // 16 MB in steps the reader keeps up with; the slow client's kernel buffers fill long before.
      const batch = 32;
      const batches = 500;
      const before = reader.lines.lines.length;
      for (let b = 0; b < batches && !/Disconnected slow/.test(server.output()); b++) {
        talker.sock.write(`${line}\n`.repeat(batch));
        await reader.lines.until(before + (b + 1) * batch);
      }
      await expect.poll(() => server.output(), { timeout: 10_000 }).toMatch(/Disconnected slow \(127\.0\.0\.1:\d+\): more than 65536 bytes queued/);
      await expect.poll(() => reader.lines.lines.includes("* slow left"), { timeout: 10_000 }).toBe(true);
      talker.sock.write("still here\n");
      await expect.poll(() => reader.lines.lines.at(-1)).toBe("talker: still here");
      for (const c of [talker, reader, slow]) c.sock.destroy();
    } finally {
      await server.stop();
    }
  });
});
