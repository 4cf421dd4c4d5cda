// Twisted's wire services beside echo: discard (RFC 863), chargen (RFC 864) and daytime (RFC 867), without sockets.
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import {
  ChargenFactory,
  ChargenProtocol,
  DaytimeFactory,
  DaytimeProtocol,
  DEFAULT_HIGH_WATER_MARK,
  DiscardFactory,
  MemoryTransport,
  tcpAddress,
} from "../src/mod.ts";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

/** RFC 864's line `n` (0-based): 72 printable characters starting `n` into the 95, then CRLF. */
function rfcLine(n: number): string {
  let line = "";
  for (let i = 0; i < 72; i++) line += String.fromCharCode(0x20 + ((n + i) % 95));
  return `${line}\r\n`;
}

test("discard answers nothing, at every chunk size, and counts what it threw away", () => {
  const factory = new DiscardFactory();
  const stream = new TextEncoder().encode("nothing comes back\n");
  for (let size = 1; size <= stream.length; size++) {
    const t = new MemoryTransport();
    t.connect(factory.buildProtocol(tcpAddress("192.0.2.1", 1))!);
    for (let i = 0; i < stream.length; i += size) t.receive(stream.slice(i, i + size));
    t.receiveEnd();
    expect(t.value().length).toBe(0);
    expect(t.disconnected).toBe(true);
  }
  expect(factory.bytesDiscarded).toBe(stream.length * stream.length);
});

test("chargen sends RFC 864's pattern: 72 characters a line, each line one further, repeating after 95", () => {
  const t = new MemoryTransport();
  t.connect(new ChargenProtocol());
  // A reader that takes everything: each turn of the event loop writes about 64 KiB more.
  vi.runOnlyPendingTimers();
  const text = t.text();
  t.abortConnection();
  expect(text.length).toBeGreaterThan(2 * 95 * 74);
  const lines = text.split("\r\n").slice(0, -1);
  for (const [n, line] of lines.entries()) expect(`${line}\r\n`).toBe(rfcLine(n));
  expect(lines[95]).toBe(lines[0]);
});

test("chargen to a peer that stops reading queues at most a high-water mark and a pattern more, however long it waits", () => {
  const factory = new ChargenFactory();
  const t = new MemoryTransport({ writeLimit: 1000 });
  t.connect(factory.buildProtocol(tcpAddress("192.0.2.1", 1))!);
  for (let turn = 0; turn < 200; turn++) vi.advanceTimersByTime(10);
  expect(t.value().length).toBe(1000);
  expect(t.bufferSize).toBeGreaterThan(DEFAULT_HIGH_WATER_MARK);
  expect(t.bufferSize).toBeLessThanOrEqual(DEFAULT_HIGH_WATER_MARK + 95 * 74);
  expect(vi.getTimerCount()).toBe(0);
  expect(factory.bytesSent).toBe(t.bufferSize + 1000);
  t.abortConnection();
});

test("chargen goes on once a slow reader catches up, and stops for good when the connection closes", () => {
  const t = new MemoryTransport({ writeLimit: 64 * 1024, lowWaterMark: 0 });
  t.connect(new ChargenProtocol());
  for (let turn = 0; turn < 10; turn++) vi.runOnlyPendingTimers();
  expect(t.value().length).toBe(64 * 1024);
  let read = 0;
  // Each drain takes 64 KiB; once the queue is empty the producer resumes and refills it.
  for (let i = 0; i < 40; i++) {
    t.drain();
    vi.runOnlyPendingTimers();
    expect(t.bufferSize).toBeLessThanOrEqual(DEFAULT_HIGH_WATER_MARK + 95 * 74);
    read = t.value().length;
  }
  expect(read).toBe(41 * 64 * 1024);
  const pattern = t.text();
  for (let at = 0; at + 74 <= pattern.length; at += 74 * 97) expect(pattern.slice(at, at + 74)).toBe(rfcLine((at / 74) % 95));
  // Closing: what is queued is still sent, and nothing is added to it.
  const timers = vi.getTimerCount();
  t.loseConnection();
  const sent = read + t.bufferSize;
  for (let i = 0; i < 10; i++) {
    t.drain();
    vi.runOnlyPendingTimers();
  }
  expect(t.value().length).toBe(sent);
  expect(t.writeShut).toBe(true);
  expect(vi.getTimerCount()).toBeLessThan(timers);
});

test("chargen ignores what the peer sends", () => {
  const t = new MemoryTransport({ writeLimit: 74 });
  t.connect(new ChargenProtocol());
  t.receive("stop please\r\n");
  expect(t.text()).toBe(rfcLine(0));
  t.abortConnection();
});

test("daytime sends one line with the date in UTC and closes", () => {
  const t = new MemoryTransport();
  const factory = new DaytimeFactory();
  const p = factory.buildProtocol(tcpAddress("192.0.2.1", 1))!;
  p.now = () => new Date(Date.UTC(2025, 5, 3, 12, 0, 1));
  t.connect(p);
  expect(t.text()).toBe("Tue, 03 Jun 2025 12:00:01 GMT\r\n");
  expect(t.writeShut).toBe(true);
  expect(t.disconnecting).toBe(true);
});

test("daytime's default clock is the current time", () => {
  vi.setSystemTime(Date.UTC(2030, 0, 2, 3, 4, 5));
  const t = new MemoryTransport();
  t.connect(new DaytimeProtocol());
  expect(t.text()).toBe("Wed, 02 Jan 2030 03:04:05 GMT\r\n");
});
