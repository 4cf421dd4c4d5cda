import { expect, test } from "vitest";
import {
  FramingError,
  Int16StringReceiver,
  Int32StringReceiver,
  Int8StringReceiver,
  type IntNStringReceiver,
  MemoryTransport,
  type Reason,
} from "../src/mod.ts";
import { chunkSizes, feed } from "./helpers/chunks.ts";

type Receiver = IntNStringReceiver & { strings: string[]; losses: Reason[] };

function recorder(base: typeof Int32StringReceiver | typeof Int16StringReceiver | typeof Int8StringReceiver): Receiver {
  const Base = base as typeof Int32StringReceiver;
  class R extends Base {
    strings: string[] = [];
    losses: Reason[] = [];
    override stringReceived(data: Uint8Array): void {
      this.strings.push(new TextDecoder().decode(data));
    }
    override connectionLost(reason: Reason): void {
      this.losses.push(reason);
    }
  }
  return new R();
}

function frame(n: number, payload: string): number[] {
  const bytes = [...new TextEncoder().encode(payload)];
  const prefix: number[] = [];
  for (let i = 0, len = bytes.length; i < n; i++, len = Math.floor(len / 256)) prefix.unshift(len % 256);
  return [...prefix, ...bytes];
}

const KINDS = [
  ["Int32StringReceiver", Int32StringReceiver, 4],
  ["Int16StringReceiver", Int16StringReceiver, 2],
  ["Int8StringReceiver", Int8StringReceiver, 1],
] as const;

test.each(KINDS)("%s parses messages in every chunking and frames what it sends", (_name, base, n) => {
  const long = "y".repeat(200);
  const stream = Uint8Array.from([...frame(n, "hello"), ...frame(n, ""), ...frame(n, long), ...frame(n, "z")]);
  for (const size of chunkSizes(stream.length)) {
    const p = recorder(base);
    const t = new MemoryTransport();
    t.connect(p);
    feed(t, stream, size);
    expect(p.strings).toEqual(["hello", "", long, "z"]);
    if (size === 1) {
      p.sendString("hello");
      p.sendString("");
      p.sendString(long);
      p.sendString("z");
      expect(t.value()).toEqual(stream);
    }
  }
});

test.each(KINDS)("%s closes the connection when a length prefix is past maxLength, saying so", (_name, base, n) => {
  const stream = Uint8Array.from([...frame(n, "ok"), ...frame(n, "x".repeat(11)), ...frame(n, "after")]);
  for (const size of chunkSizes(stream.length)) {
    const p = recorder(base);
    p.maxLength = 10;
    const t = new MemoryTransport();
    t.connect(p);
    feed(t, stream, size);
    t.receiveEnd();
    expect(p.strings).toEqual(["ok"]);
    expect(p.losses[0]).toBeInstanceOf(FramingError);
    expect(p.losses[0]!.message).toBe("Length prefix 11 exceeds the maximum of 10 bytes");
  }
});

test("a 32-bit prefix of 4 GiB - 1 is refused at once, without waiting for the bytes", () => {
  const p = recorder(Int32StringReceiver);
  const t = new MemoryTransport();
  t.connect(p);
  t.receive(Uint8Array.of(255, 255, 255, 255));
  t.receiveEnd();
  expect(p.losses[0]!.message).toBe("Length prefix 4294967295 exceeds the maximum of 99999 bytes");
});

test("sendString refuses a string too long for the prefix", () => {
  const p = recorder(Int8StringReceiver);
  new MemoryTransport().connect(p);
  expect(() => p.sendString("x".repeat(256))).toThrow(
    new RangeError("Cannot send a string of 256 bytes with a 1-byte length prefix: the most is 255"),
  );
});

test("pauseProducing holds messages until resumeProducing", () => {
  class Pauser extends Int8StringReceiver {
    strings: string[] = [];
    override stringReceived(data: Uint8Array): void {
      this.strings.push(new TextDecoder().decode(data));
      if (this.strings.length === 1) this.pauseProducing();
    }
  }
  const p = new Pauser();
  const t = new MemoryTransport();
  t.connect(p);
  t.receive(Uint8Array.from([...frame(1, "a"), ...frame(1, "b"), ...frame(1, "c")]));
  expect(p.strings).toEqual(["a"]);
  expect(t.reading).toBe(false);
  p.resumeProducing();
  expect(p.strings).toEqual(["a", "b", "c"]);
});

// Twisted's IntNStringReceiver goes on delivering here (a, QUIT, b): twine differs on purpose (docs/framing.md).
test.each(KINDS)("%s delivers no message after one that closed the connection, in every chunking", (_name, base, n) => {
  const stream = Uint8Array.from([...frame(n, "a"), ...frame(n, "QUIT"), ...frame(n, "b")]);
  for (const size of chunkSizes(stream.length)) {
    const p = recorder(base);
    const t = new MemoryTransport();
    t.connect(p);
    const received = p.stringReceived.bind(p);
    p.stringReceived = (data) => {
      received(data);
      if (new TextDecoder().decode(data) === "QUIT") t.loseConnection();
    };
    feed(t, stream, size);
    expect(p.strings).toEqual(["a", "QUIT"]);
  }
});
