import { afterEach, describe, expect, test, vi } from "vitest";
import {
  ConnectionAborted,
  ConnectionDone,
  EchoFactory,
  IdleTimeout,
  MemoryTransport,
  Port,
  Protocol,
  type Reason,
  resolveListenOptions,
  tcpAddress,
} from "../src/mod.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";

const host = tcpAddress("127.0.0.1", 8000);

class Recorder extends Protocol {
  reasons: Reason[] = [];
  override connectionLost(reason: Reason): void {
    this.reasons.push(reason);
  }
}


afterEach(() => {
  vi.useRealTimers();
});

describe("idle timeout", () => {
  test("closes a connection with no traffic for that long with FIN, not RST, and not one with traffic", () => {
    vi.useFakeTimers();
    const t = new MemoryTransport({ idleTimeout: 1000 });
    const p = new Recorder();
    t.connect(p);
    vi.advanceTimersByTime(600);
    t.receive("x"); // traffic in
    vi.advanceTimersByTime(600);
    t.write("y"); // traffic out
    vi.advanceTimersByTime(999);
    expect(t.writeShut).toBe(false);
    vi.advanceTimersByTime(1);
    expect(t.writeShut).toBe(true);
    expect(p.reasons).toEqual([]);
    t.receiveEnd();
    expect(p.reasons[0]).toBeInstanceOf(IdleTimeout);
    expect(p.reasons[0]).not.toBeInstanceOf(ConnectionAborted);
    expect(p.reasons[0]!.message).toBe("Connection idle for 1 s");
    expect(t.aborted).toBe(false);
  });

  test("sends what was queued before the idle close, and aborts only if it then does not move for as long again", () => {
    vi.useFakeTimers();
    const t = new MemoryTransport({ idleTimeout: 1000, writeLimit: 4 });
    const p = new Recorder();
    t.connect(p);
    t.write("12345678");
    vi.advanceTimersByTime(1000);
    expect(t.writeShut).toBe(false);
    vi.advanceTimersByTime(500);
    t.drain(); // the peer reads: the output moves
    expect(t.text()).toBe("12345678");
    expect(t.writeShut).toBe(true);
    t.receiveEnd();
    expect(p.reasons[0]!.message).toBe("Connection idle for 1 s");
    expect(t.aborted).toBe(false);
    const stuck = new MemoryTransport({ idleTimeout: 1000, writeLimit: 4 });
    const q = new Recorder();
    stuck.connect(q);
    stuck.write("12345678");
    vi.advanceTimersByTime(1999);
    expect(q.reasons).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(stuck.aborted).toBe(true);
    expect(q.reasons[0]).toBeInstanceOf(IdleTimeout);
    expect(q.reasons[0]!.message).toBe("Connection idle for 1 s, and its output did not move for 1 s more");
  });

  test("aborts a connection the protocol is closing once its output has not moved for that long", () => {
    vi.useFakeTimers();
    const t = new MemoryTransport({ idleTimeout: 1000, writeLimit: 4 });
    const p = new Recorder();
    t.connect(p);
    t.write("12345678");
    t.loseConnection();
    vi.advanceTimersByTime(999);
    expect(p.reasons).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(t.aborted).toBe(true);
    expect(p.reasons[0]).toBeInstanceOf(IdleTimeout);
    expect(p.reasons[0]!.message).toBe("Connection idle for 1 s while closing, with output unsent");
  });

  test("leaves a connection whose output is all sent to the linger bounds, not to an abort", () => {
    vi.useFakeTimers();
    const t = new MemoryTransport({ idleTimeout: 1000, lingerIdleTimeout: 3000 });
    const p = new Recorder();
    t.connect(p);
    t.loseConnection();
    vi.advanceTimersByTime(2999);
    expect(p.reasons).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(p.reasons[0]).toBeInstanceOf(ConnectionDone);
    expect(t.aborted).toBe(false);
  });

  test("is off by default", () => {
    vi.useFakeTimers();
    const t = new MemoryTransport();
    const p = new Recorder();
    t.connect(p);
    vi.advanceTimersByTime(24 * 3600 * 1000);
    expect(p.reasons).toEqual([]);
  });
});

describe("max connections", () => {
  test("closes connections past the limit at once, serves the others, and logs at most once a second", () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const port = new Port(new EchoFactory(), host, { maxConnections: 2, log: (l) => lines.push(l) }, () => {});
    const accept = () => {
      const socket = new FakeSocket();
      port.accept(socket, tcpAddress("127.0.0.1", 40000), host, () => {});
      return socket;
    };
    const served = [accept(), accept()];
    const refused = [accept(), accept(), accept()];
    expect(served.map((s) => s.calls)).toEqual([[], []]);
    expect(refused.map((s) => s.calls)).toEqual([["shutdownWrite"], ["shutdownWrite"], ["shutdownWrite"]]);
    expect(lines).toEqual(["Refused 1 connection: 2 open, the most allowed (1 refused in all)"]);
    vi.advanceTimersByTime(1000);
    expect(lines.at(-1)).toBe("Refused 2 connections: 2 open, the most allowed (3 refused in all)");
    expect(port.refused).toBe(3);
  });
});

describe("listen options", () => {
  test.each([
    [{ maxConnections: 0 }, /maxConnections 0/],
    [{ idleTimeout: -1 }, /idleTimeout -1/],
    [{ highWaterMark: -5 }, /highWaterMark -5/],
    [{ lingerTimeout: -1 }, /lingerTimeout -1/],
    [{ lingerIdleTimeout: -1 }, /lingerIdleTimeout -1/],
    [{ lingerBytes: Number.NaN }, /lingerBytes NaN/],
    [{ lowWaterMark: 300_000 }, /lowWaterMark 300000 above highWaterMark 131072/],
  ])("reject %o with a RangeError", (options, message) => {
    expect(() => resolveListenOptions(options)).toThrow(RangeError);
    expect(() => resolveListenOptions(options)).toThrow(message);
  });
});
