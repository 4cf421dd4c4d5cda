/**
 * adapters/node/lent_reads.ts: on Node, a connection whose protocol keeps no chunk moves to reads
 * into a lent buffer after its 16th read. The bytes, the half-close and connectionLost must be
 * the same on either side of the move, and a peer that does not read must not see its echo
 * overwritten by the next read into the lent buffer.
 */
import { once } from "node:events";
import net from "node:net";
import { afterEach, expect, test } from "vitest";
import { listen } from "../adapters/node/tcp.ts";
import { canLendReads, lentReadsMoved } from "../adapters/node/lent_reads.ts";
import { EchoFactory, EchoProtocol, type ListeningPort, type Reason } from "../src/mod.ts";

let port: ListeningPort | undefined;
afterEach(async () => {
  await port?.close({ grace: 0 });
  port = undefined;
});

class CountingEcho extends EchoProtocol {
  static lost: Reason[] = [];
  override connectionLost(reason: Reason): void {
    CountingEcho.lost.push(reason);
  }
}

class CountingFactory extends EchoFactory {
  override protocol = CountingEcho;
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 255;
  return out;
}

async function connect(): Promise<net.Socket> {
  const sock = net.connect({ host: "127.0.0.1", port: port!.address.port, allowHalfOpen: true, noDelay: true });
  await once(sock, "connect");
  return sock;
}

test("requests of every size are echoed byte for byte across the move, and a half-close is answered once", async () => {
  expect(canLendReads).toBe(typeof (globalThis as { Bun?: unknown }).Bun === "undefined");
  CountingEcho.lost = [];
  const moved = lentReadsMoved.count;
  port = await listen(new CountingFactory(), { host: "127.0.0.1", port: 0 });
  const sock = await connect();
  const received: Buffer[] = [];
  let got = 0;
  sock.on("data", (chunk: Buffer) => {
    received.push(chunk);
    got += chunk.length;
  });
  let sent = 0;
  const expected: Uint8Array[] = [];
  // Small requests first (the move comes after 16 reads), then sizes that make the lent buffer grow and shrink.
  const sizes = [...Array.from({ length: 40 }, (_, i) => 1 + i), 300, 70_000, 5, 200_000, 64, 1_000_000, 1, 65_536, 2];
  for (const [i, size] of sizes.entries()) {
    const data = pattern(size, i);
    expected.push(data);
    sent += size;
    sock.write(data);
    for (let spin = 0; got < sent && spin < 2_000; spin++) await new Promise((r) => setTimeout(r, 1));
    expect(got).toBe(sent);
  }
  // On Node the connection has moved to lent reads by now (once, from its 16th read); elsewhere never.
  expect(lentReadsMoved.count - moved).toBe(canLendReads ? 1 : 0);
  sock.end();
  await once(sock, "end");
  expect(Buffer.concat(received).equals(Buffer.concat(expected))).toBe(true);
  await once(sock, "close");
  for (let spin = 0; CountingEcho.lost.length === 0 && spin < 1_000; spin++) await new Promise((r) => setTimeout(r, 1));
  expect(CountingEcho.lost.map((r) => r.constructor.name)).toEqual(["ConnectionDone"]);
});

test("a peer that stops reading while sending gets every byte back in order once it reads again", async () => {
  const moved = lentReadsMoved.count;
  port = await listen(new EchoFactory(), { host: "127.0.0.1", port: 0, highWaterMark: 64 * 1024, lowWaterMark: 16 * 1024 });
  const sock = await connect();
  // Enough small writes to move the connection first.
  for (let i = 0; i < 32; i++) {
    sock.write(pattern(10, i));
    await once(sock, "data");
  }
  expect(lentReadsMoved.count - moved).toBe(canLendReads ? 1 : 0);
  sock.pause();
  const total = 8 * 1024 * 1024;
  const sentData = pattern(total, 7);
  const chunks: Buffer[] = [];
  let got = 0;
  // Written while the peer does not read: the server's writes go pending and reads must not reuse their buffer.
  sock.write(sentData);
  await new Promise((r) => setTimeout(r, 200));
  sock.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    got += chunk.length;
  });
  sock.resume();
  for (let spin = 0; got < total && spin < 10_000; spin++) await new Promise((r) => setTimeout(r, 1));
  expect(got).toBe(total);
  expect(Buffer.concat(chunks).equals(Buffer.from(sentData))).toBe(true);
  sock.destroy();
});
