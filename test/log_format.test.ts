import { expect, test, vi } from "vitest";
import { EchoFactory, type LogEvent, Port, tcpAddress } from "../src/mod.ts";
import { formatJsonLogLine, logTo } from "../runner/log_format.ts";

const now = () => new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6));

test("a JSON line has time, level, event, endpoint, peer, worker, message and the event's fields, in that order", () => {
  const event: LogEvent = {
    event: "proxy_header_rejected",
    level: "warn",
    endpoint: "127.0.0.1:8000",
    peer: "10.0.0.1:4000",
    fields: { reason: "not a PROXY header", count: 2, total: 7 },
  };
  const line = formatJsonLogLine("Closed a connection from 10.0.0.1:4000: not a PROXY header (and 1 more in the last second)", event, { worker: 3, now });
  expect(line).toBe(
    '{"time":"2026-01-02T03:04:05.006Z","level":"warn","event":"proxy_header_rejected","endpoint":"127.0.0.1:8000",' +
      '"peer":"10.0.0.1:4000","worker":3,"message":"Closed a connection from 10.0.0.1:4000: not a PROXY header (and 1 more in the last second)",' +
      '"reason":"not a PROXY header","count":2,"total":7}',
  );
  expect(line).not.toContain("\n");
});

test("a line without an event is an info message; fields named like the fixed keys get a prefix; newlines stay escaped", () => {
  expect(formatJsonLogLine("hello\nworld", undefined, { now })).toBe(
    '{"time":"2026-01-02T03:04:05.006Z","level":"info","event":"message","message":"hello\\nworld"}',
  );
  expect(JSON.parse(formatJsonLogLine("x", { event: "e", level: "error", fields: { message: "inner", time: 1 } }, { now }))).toEqual({
    time: "2026-01-02T03:04:05.006Z",
    level: "error",
    event: "e",
    message: "x",
    field_message: "inner",
    field_time: 1,
  });
});

test("a port logging in JSON keeps its rate limit: a flood of refusals is one JSON line a second with its count", () => {
  vi.useFakeTimers();
  try {
    const written: string[] = [];
    const log = logTo("json", (text) => written.push(text), { worker: 1, now });
    const host = tcpAddress("127.0.0.1", 8000);
    const port = new Port(new EchoFactory(), host, { maxConnections: 1, log }, () => {});
    const socket = { write: (d: Uint8Array) => d.length, pending: 0, pauseReading() {}, resumeReading() {}, shutdownWrite() {}, close() {}, abort() {} };
    for (let i = 0; i < 6; i++) port.accept(socket, tcpAddress("127.0.0.1", 40000 + i), host, () => {});
    vi.advanceTimersByTime(1000);
    expect(written.map((w) => JSON.parse(w))).toEqual([
      {
        time: "2026-01-02T03:04:05.006Z",
        level: "warn",
        event: "connection_refused",
        endpoint: "127.0.0.1:8000",
        peer: "127.0.0.1:40001",
        worker: 1,
        message: "Refused 1 connection: 1 open, the most allowed (1 refused in all)",
        limit: 1,
        count: 1,
        total: 1,
      },
      {
        time: "2026-01-02T03:04:05.006Z",
        level: "warn",
        event: "connection_refused",
        endpoint: "127.0.0.1:8000",
        peer: "127.0.0.1:40005",
        worker: 1,
        message: "Refused 4 connections: 1 open, the most allowed (5 refused in all)",
        limit: 1,
        count: 4,
        total: 5,
      },
    ]);
  } finally {
    vi.useRealTimers();
  }
});

test("the human form is the line unchanged, and an unknown form is a TypeError", () => {
  const written: string[] = [];
  logTo("human", (text) => written.push(text))("Refused 1 connection", { event: "connection_refused", level: "warn" });
  expect(written).toEqual(["Refused 1 connection"]);
  expect(() => logTo("xml" as "json", () => {})).toThrow(TypeError);
});
