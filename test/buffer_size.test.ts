// Transport.bufferSize: bytes written that the operating system has not taken. A protocol reads it as
// "the peer is slow" (examples/chat.ts disconnects a client past 64 KiB), so it must stay near zero
// while the kernel takes everything, on every pair, including Deno native, which keeps one write in
// flight and queues the rest of a synchronous burst behind it.
import type net from "node:net";
import { describe, expect, test } from "vitest";
import { type DenoConn, DenoSocket } from "../adapters/deno/socket.ts";
import { Connection, Protocol, type Socket, tcpAddress } from "../src/mod.ts";
import { PAIRS } from "../tools/runtimes.ts";
import { startServer } from "../tools/server_process.ts";
import { connect } from "./helpers/client.ts";
import { withServer } from "./helpers/with_server.ts";

/** A socket as Deno native's: one write in flight, whose count comes back later (`settle`). */
class OneInFlight implements Socket {
  connection!: Connection;
  inFlight = 0;
  short = false;
  sent = 0;
  write(data: Uint8Array): number {
    if (this.inFlight > 0) return 0;
    this.inFlight = data.length;
    return data.length;
  }
  get pending(): number {
    return this.inFlight;
  }
  get presumedTaken(): number {
    return this.short ? 0 : 1000;
  }
  /** The write in flight comes back: the kernel took `taken` bytes of it. */
  settle(taken = this.inFlight): void {
    this.sent += taken;
    this.inFlight -= taken;
    this.short = this.inFlight > 0;
    if (this.inFlight === 0) this.connection.writable();
  }
  pauseReading(): void {}
  resumeReading(): void {}
  shutdownWrite(): void {}
  close(): void {}
  abort(): void {}
}

function open(highWaterMark = 4000): { socket: OneInFlight; connection: Connection } {
  const socket = new OneInFlight();
  const connection = new Connection(socket, tcpAddress("192.0.2.1", 1), tcpAddress("127.0.0.1", 2), { highWaterMark, lowWaterMark: 0 });
  socket.connection = connection;
  connection.connect(new Protocol());
  return { socket, connection };
}

describe("bufferSize over a socket that keeps one write in flight", () => {
  test("a burst queued behind the write in flight does not count, up to what the kernel is presumed to take", () => {
    const { socket, connection } = open();
    for (let i = 0; i < 9; i++) connection.write(new Uint8Array(100));
    expect(connection.bufferSize).toBe(0);
    connection.write(new Uint8Array(500));
    expect(connection.bufferSize).toBe(400);
    socket.settle();
    expect(socket.inFlight).toBe(1300); // what queued went out as one write
    expect(connection.bufferSize).toBe(300);
  });

  test("once a write comes back short, everything unsent counts until the socket drains", () => {
    const { socket, connection } = open();
    connection.write(new Uint8Array(800));
    connection.write(new Uint8Array(150));
    socket.settle(300);
    expect(connection.bufferSize).toBe(650);
    socket.settle();
    expect(socket.sent).toBe(800);
    expect(socket.inFlight).toBe(150);
    expect(connection.bufferSize).toBe(0);
  });

  test("hides at most the high-water mark, so a producer writing in a loop is still paused", () => {
    const { connection } = open(400);
    let paused = false;
    connection.registerProducer({ pauseProducing: () => (paused = true), resumeProducing: () => (paused = false) });
    let written = 0;
    for (let i = 0; i < 20 && !paused; i++) {
      connection.write(new Uint8Array(100));
      written += 100;
    }
    expect(paused).toBe(true);
    // Paused just past twice the mark, though the socket presumes 1000 bytes taken.
    expect(written).toBe(900);
    expect(connection.bufferSize).toBe(500);
  });
});

/** A `Deno.Conn` whose writes come back when the test says, with the count it says. */
class SlowConn implements DenoConn {
  readonly writes: { length: number; done: (taken: number) => void }[] = [];
  readonly localAddr = { hostname: "127.0.0.1", port: 2 };
  readonly remoteAddr = { hostname: "192.0.2.1", port: 1 };
  write(p: Uint8Array): Promise<number> {
    return new Promise((done) => this.writes.push({ length: p.length, done }));
  }
  read(): Promise<number | null> {
    return new Promise(() => {});
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
  setNoDelay(): void {}
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("bufferSize on Deno native's socket", () => {
  test("counts everything unsent once conn.write comes back short, and presumes again once it drains", async () => {
    const conn = new SlowConn();
    const socket = new DenoSocket(conn);
    const connection = new Connection(socket, tcpAddress("192.0.2.1", 1), tcpAddress("127.0.0.1", 2));
    socket.connection = connection;
    connection.connect(new Protocol());
    connection.write(new Uint8Array(1000));
    connection.write(new Uint8Array(1000));
    expect(connection.bufferSize).toBe(0);
    conn.writes[0]!.done(400);
    await settled();
    expect(conn.writes[1]!.length).toBe(600);
    expect(connection.bufferSize).toBe(1600);
    conn.writes[1]!.done(600);
    await settled();
    expect(conn.writes[2]!.length).toBe(1000);
    expect(connection.bufferSize).toBe(0);
  });
});

describe.each(PAIRS)("bufferSize on $name", (pair) => {
  test("a 100 KB burst to each of 8 readers that keep up leaves bufferSize near zero", async () => {
    await withServer(startServer(pair, "test/fixtures/server.ts", ["--protocol", "broadcast"]), async (server) => {
      const readers = await Promise.all(Array.from({ length: 8 }, () => connect(server.port)));
      const got = readers.map(() => 0);
      const all = readers.map((sock: net.Socket, i) =>
        new Promise<void>((resolve) =>
          sock.on("data", (chunk: Buffer) => {
            got[i]! += chunk.length;
            if (got[i] === 100_000) resolve();
          })
        )
      );
      // Every reader must be in the room before the burst, or it would wait for bytes never sent.
      await expect.poll(() => server.output(), { timeout: 10_000 }).toMatch(/^room 8$/m);
      const sender = await connect(server.port);
      sender.write("burst\n");
      await Promise.all(all);
      expect(got).toEqual(readers.map(() => 100_000));
      await expect.poll(() => server.output()).toMatch(/burst to 8: largest bufferSize \d+/);
      const most = Number(/largest bufferSize (\d+)/.exec(server.output())![1]);
      expect(most).toBeLessThan(4096);
      for (const sock of [...readers, sender]) sock.destroy();
    });
  });
});
