import fc from "fast-check";
import { expect, test } from "vitest";
import { Connection, EchoProtocol, MemoryTransport, Protocol, tcpAddress } from "../src/mod.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";
import { drive } from "./helpers/peer_steps.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

class Keeper extends Protocol {
  override keepsData = false;
  kept: Uint8Array[] = [];
  override dataReceived(data: Uint8Array): void {
    this.kept.push(data);
  }
}

test("a protocol that says it keeps no data but does sees its kept bytes overwritten", () => {
  const t = new MemoryTransport();
  const p = new Keeper();
  t.connect(p);
  t.receive("hello");
  expect(new TextDecoder().decode(p.kept[0])).not.toBe("hello");
});

test("a protocol that keeps data is handed the caller's bytes untouched", () => {
  const t = new MemoryTransport();
  const p = new Keeper();
  p.keepsData = true;
  t.connect(p);
  const data = bytes("hello");
  t.receive(data);
  expect(p.kept[0]).toBe(data);
  expect(new TextDecoder().decode(data)).toBe("hello");
});

test("echo of a lent chunk that the socket cannot take at once is copied before it is queued", () => {
  const t = new MemoryTransport({ writeLimit: 2 });
  t.connect(new EchoProtocol());
  t.receive("abcdef");
  t.receive("ghij");
  for (let i = 0; i < 10; i++) t.drain();
  expect(t.text()).toBe("abcdefghij");
});

test("a lent chunk written to another connection reaches it intact", () => {
  const other = new MemoryTransport({ writeLimit: 1 });
  other.connect(new Protocol());
  class Relay extends Protocol {
    override keepsData = false;
    override dataReceived(data: Uint8Array): void {
      other.write(data);
    }
  }
  const t = new MemoryTransport();
  t.connect(new Relay());
  t.receive("relayed");
  for (let i = 0; i < 10; i++) other.drain();
  expect(other.text()).toBe("relayed");
});

test("a lent chunk written to another connection whose socket holds on to it is copied first", () => {
  // Deno's socket keeps what it is given until its write is done; only the lender's own adapter waits for that.
  class HoldingSocket extends FakeSocket {
    held: Uint8Array[] = [];
    override write(data: Uint8Array): number {
      this.held.push(data);
      return data.length;
    }
  }
  const socket = new HoldingSocket();
  const other = new Connection(socket, tcpAddress("127.0.0.1", 1), tcpAddress("127.0.0.1", 2));
  other.connect(new Protocol());
  class Relay extends Protocol {
    override keepsData = false;
    override dataReceived(data: Uint8Array): void {
      other.write(data);
    }
  }
  const t = new MemoryTransport();
  t.connect(new Relay());
  t.receive("relayed");
  expect(new TextDecoder().decode(socket.held[0])).toBe("relayed");
});

test("with lent chunks, any chunking, partial-write size and pause/resume sequence echoes the exact input", () => {
  const step = fc.oneof(
    fc.integer({ min: 1, max: 700 }),
    fc.constantFrom("drain" as const, "pause" as const, "resume" as const, "twice" as const),
  );
  // Writes each chunk as two writes, so the second is queued behind the first.
  class SplitEcho extends EchoProtocol {
    split = false;
    override dataReceived(data: Uint8Array): void {
      if (!this.split || data.length < 2) return super.dataReceived(data);
      const half = data.length >> 1;
      this.transport.write(data.subarray(0, half));
      this.transport.write(data.subarray(half));
    }
  }
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 4000 }),
      fc.array(step, { maxLength: 60 }),
      fc.integer({ min: 1, max: 512 }),
      fc.integer({ min: 0, max: 2048 }),
      (input, steps, writeLimit, highWaterMark) => {
        const t = new MemoryTransport({ writeLimit, highWaterMark, lowWaterMark: Math.floor(highWaterMark / 4) });
        const p = new SplitEcho();
        t.connect(p);
        expect(t.keepsData).toBe(false);
        drive(t, input, steps, () => (p.split = !p.split));
        expect(t.value()).toEqual(input);
      },
    ),
    { numRuns: 300 },
  );
});
