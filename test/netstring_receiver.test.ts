import { expect, test } from "vitest";
import { formatNetstring, MemoryTransport, NetstringParseError, NetstringReceiver, type Reason } from "../src/mod.ts";
import { chunkSizes, feed } from "./helpers/chunks.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

class Strings extends NetstringReceiver {
  strings: string[] = [];
  losses: Reason[] = [];
  override stringReceived(data: Uint8Array): void {
    this.strings.push(text(data));
  }
  override connectionLost(reason: Reason): void {
    this.losses.push(reason);
  }
}

function run(stream: string, size: number, maxLength?: number): { p: Strings; t: MemoryTransport } {
  const p = new Strings();
  if (maxLength !== undefined) p.maxLength = maxLength;
  const t = new MemoryTransport();
  t.connect(p);
  feed(t, stream, size);
  t.receiveEnd();
  return { p, t };
}

test("netstrings are parsed in every chunking", () => {
  const stream = "5:hello,0:,12:hello world!,1:,,";
  for (const size of chunkSizes(stream.length)) {
    const { p } = run(stream, size);
    expect(p.strings).toEqual(["hello", "", "hello world!", ","]);
    expect(p.losses[0]!.name).toBe("ConnectionDone");
  }
});

test("sendString writes a netstring", () => {
  const p = new Strings();
  const t = new MemoryTransport();
  t.connect(p);
  p.sendString("héllo");
  p.sendString(new Uint8Array(0));
  expect(t.text()).toBe("6:héllo,0:,");
  expect(text(formatNetstring("abc"))).toBe("3:abc,");
});

test.each([
  ["a non-digit length", "x:abc,", "Netstring does not start with a length: got 'x'"],
  ["a negative length", "-3:abc,", "Netstring does not start with a length: got '-'"],
  ["a leading zero", "03:abc,", "Netstring length has a leading zero: got '03'"],
  ["a length not followed by a colon", "3;abc,", "Netstring length is not followed by ':': got ';'"],
  ["a missing comma", "3:abcd", "Netstring of 3 bytes not terminated by a comma: got 'd'"],
  ["a length over maxLength", "100000:x,", "Netstring length 100000 exceeds the maximum of 99999"],
  ["a length with more digits than maxLength", "1234567890123:x,", "Netstring length 123456 exceeds the maximum of 99999"],
])("%s closes the connection with a reason that says so, in every chunking", (_name, bad, message) => {
  const stream = `2:ok,${bad}5:after,`;
  for (const size of chunkSizes(stream.length)) {
    const { p, t } = run(stream, size);
    expect(p.strings).toEqual(["ok"]);
    expect(t.writeShut).toBe(true);
    expect(p.losses).toHaveLength(1);
    expect(p.losses[0]).toBeInstanceOf(NetstringParseError);
    expect(p.losses[0]!.message).toBe(message);
    expect(p.brokenPeer).toBe(true);
  }
});

test("maxLength can be lowered, and a netstring of exactly maxLength is accepted", () => {
  expect(run("3:abc,", 1, 3).p.strings).toEqual(["abc"]);
  expect(run("4:abcd,", 1, 3).p.losses[0]!.message).toBe("Netstring length 4 exceeds the maximum of 3");
});

// Twisted's NetstringReceiver goes on delivering here (a, QUIT, b): twine differs on purpose (docs/framing.md).
test("no netstring is delivered after one that closed the connection, in every chunking", () => {
  class Quit extends Strings {
    override stringReceived(data: Uint8Array): void {
      super.stringReceived(data);
      if (text(data) === "QUIT") this.transport.loseConnection();
    }
  }
  const stream = "1:a,4:QUIT,1:b,";
  for (const size of chunkSizes(stream.length)) {
    const p = new Quit();
    const t = new MemoryTransport();
    t.connect(p);
    feed(t, stream, size);
    expect(p.strings).toEqual(["a", "QUIT"]);
  }
});
