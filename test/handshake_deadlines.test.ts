import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { HandshakeDeadlines } from "../adapters/deno/handshake_deadlines.ts";

describe("HandshakeDeadlines", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("a handshake that finishes in time is never expired, one that does not is expired once at its own deadline", () => {
    const expired: string[] = [];
    const d = new HandshakeDeadlines<string>(1000, (c) => expired.push(c));
    const a = d.add("a");
    vi.advanceTimersByTime(400);
    const b = d.add("b");
    const c = d.add("c");
    expect(d.done(a)).toBe(true);
    vi.advanceTimersByTime(599);
    expect(expired).toEqual([]);
    expect(d.done(c)).toBe(true);
    vi.advanceTimersByTime(401);
    expect(expired).toEqual(["b"]);
    expect(d.done(b)).toBe(false);
    vi.advanceTimersByTime(5000);
    expect(expired).toEqual(["b"]);
  });

  test("deadlines added after the queue emptied are still kept, each at its own time", () => {
    const expired: number[] = [];
    const d = new HandshakeDeadlines<number>(100, (c) => expired.push(c));
    expect(d.done(d.add(0))).toBe(true);
    vi.advanceTimersByTime(50);
    d.add(1);
    vi.advanceTimersByTime(99);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual([1]);
  });

  test("thousands of finished handshakes behind a stuck one are dropped, and the stuck one still expires", () => {
    const expired: number[] = [];
    const d = new HandshakeDeadlines<number>(1000, (c) => expired.push(c));
    d.add(-1);
    for (let i = 0; i < 5000; i++) expect(d.done(d.add(i))).toBe(true);
    vi.advanceTimersByTime(1);
    const late = d.add(9999);
    vi.advanceTimersByTime(999);
    expect(expired).toEqual([-1]);
    expect(d.done(late)).toBe(true);
  });

  test("stop() expires nothing afterwards", () => {
    const expired: number[] = [];
    const d = new HandshakeDeadlines<number>(100, (c) => expired.push(c));
    d.add(1);
    d.stop();
    vi.advanceTimersByTime(1000);
    expect(expired).toEqual([]);
  });
});
