import { afterEach, expect, test, vi } from "vitest";
import { type LogEvent, RateLimitedLog } from "../src/mod.ts";

afterEach(() => {
  vi.useRealTimers();
});

test("the first event is logged at once and the rest of that second as one counted line", () => {
  vi.useFakeTimers();
  const lines: string[] = [];
  const log = new RateLimitedLog((line) => lines.push(line));
  log.write("bad 1");
  expect(lines).toEqual(["bad 1"]);
  log.write("bad 2");
  log.write("bad 3");
  expect(lines).toHaveLength(1);
  vi.advanceTimersByTime(1000);
  expect(lines).toEqual(["bad 1", "bad 3 (and 1 more in the last second)"]);
  expect(log.total).toBe(3);
  log.stop();
});

test("a flood that never stops gets at most one line a second", () => {
  vi.useFakeTimers();
  const lines: string[] = [];
  const log = new RateLimitedLog((line) => lines.push(line), (_, held, total) => `${held}/${total}`);
  for (let ms = 0; ms < 5000; ms += 10) {
    log.write("x");
    vi.advanceTimersByTime(10);
  }
  expect(lines.length).toBeLessThanOrEqual(6);
  expect(lines.reduce((n, l) => n + Number(l.split("/")[0]), 0)).toBeGreaterThanOrEqual(490);
  log.stop();
});

test("after a quiet second the next event is logged at once again, and stop() leaves no timer", () => {
  vi.useFakeTimers();
  const lines: string[] = [];
  const log = new RateLimitedLog((line) => lines.push(line));
  log.write("a");
  vi.advanceTimersByTime(1500);
  log.write("b");
  expect(lines).toEqual(["a", "b"]);
  log.write("c");
  log.stop();
  expect(vi.getTimerCount()).toBe(0);
  vi.advanceTimersByTime(5000);
  expect(lines).toEqual(["a", "b"]);
});

test("each line carries the last event written, with the endpoint and how many events it stands for", () => {
  vi.useFakeTimers();
  const events: (LogEvent | undefined)[] = [];
  const log = new RateLimitedLog((_, event) => events.push(event), undefined, { endpoint: "127.0.0.1:8000" });
  log.write("bad 1", { event: "proxy_header_rejected", level: "warn", peer: "10.0.0.1:1", fields: { reason: "one" } });
  log.write("bad 2", { event: "proxy_header_rejected", level: "warn", peer: "10.0.0.2:2", fields: { reason: "two" } });
  log.write("bad 3", { event: "proxy_header_rejected", level: "warn", peer: "10.0.0.3:3", fields: { reason: "three" } });
  vi.advanceTimersByTime(1000);
  log.write("plain");
  expect(events).toEqual([
    { event: "proxy_header_rejected", level: "warn", endpoint: "127.0.0.1:8000", peer: "10.0.0.1:1", fields: { reason: "one", count: 1, total: 1 } },
    { event: "proxy_header_rejected", level: "warn", endpoint: "127.0.0.1:8000", peer: "10.0.0.3:3", fields: { reason: "three", count: 2, total: 3 } },
  ]);
  vi.advanceTimersByTime(1000);
  // A line written without an event is logged without one, as before.
  expect(events).toHaveLength(3);
  expect(events[2]).toBeUndefined();
  log.stop();
});
