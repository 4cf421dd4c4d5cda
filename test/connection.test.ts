import { afterEach, describe, expect, test, vi } from "vitest";
import {
  type Address,
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
  EchoProtocol,
  MemoryTransport,
  Protocol,
  type Reason,
} from "../src/mod.ts";

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** Records every callback, in order. */
class Recorder extends Protocol {
  events: string[] = [];
  received: number[] = [];
  reasons: Reason[] = [];
  override connectionMade(): void {
    this.events.push("made");
  }
  override dataReceived(data: Uint8Array): void {
    this.events.push("data");
    this.received.push(...data);
  }
  override readConnectionLost(): void {
    this.events.push("readLost");
    super.readConnectionLost();
  }
  override connectionLost(reason: Reason): void {
    this.events.push("lost");
    this.reasons.push(reason);
  }
}

class EchoRecorder extends Recorder {
  override dataReceived(data: Uint8Array): void {
    super.dataReceived(data);
    this.transport.write(data);
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("callbacks", () => {
  test("run in order: made, data, readConnectionLost, then connectionLost exactly once", () => {
    const t = new MemoryTransport();
    const p = new Recorder();
    t.connect(p);
    t.receive("ab");
    t.receiveEnd();
    // The default readConnectionLost closes; nothing was queued, so it closes at once.
    expect(p.events).toEqual(["made", "data", "readLost", "lost"]);
    expect(p.reasons[0]).toBeInstanceOf(ConnectionDone);
    t.closed();
    t.reset();
    expect(p.events.filter((e) => e === "lost")).toHaveLength(1);
    expect(p.connected).toBe(false);
    expect(t.disconnected).toBe(true);
  });

  test("connectionLost is not run inside another callback of the same protocol", () => {
    const order: string[] = [];
    class AbortsInData extends Protocol {
      override dataReceived(): void {
        this.transport.abortConnection();
        order.push("after abort");
      }
      override connectionLost(reason: Reason): void {
        order.push(`lost ${reason.name}`);
      }
    }
    const t = new MemoryTransport();
    t.connect(new AbortsInData());
    t.receive("x");
    expect(order).toEqual(["after abort", "lost ConnectionAborted"]);
    expect(t.aborted).toBe(true);
  });

  test("a peer reset reaches connectionLost as ConnectionLost with the runtime error as cause", () => {
    const t = new MemoryTransport();
    const p = new Recorder();
    t.connect(p);
    t.reset();
    const reason = p.reasons[0]!;
    expect(reason).toBeInstanceOf(ConnectionLost);
    expect((reason.cause as { code: string }).code).toBe("ECONNRESET");
  });
});

describe("echo", () => {
  const payload = bytes(3000);
  test.each([1, 2, 3, 7, 64, 1000, 3000])("returns the input exactly when it arrives in %i-byte chunks", (size) => {
    const t = new MemoryTransport();
    t.connect(new EchoProtocol());
    for (let i = 0; i < payload.length; i += size) t.receive(payload.subarray(i, i + size));
    expect(t.value()).toEqual(payload);
  });

  test("a half-closing peer gets every byte back, then FIN, even through partial writes", () => {
    const t = new MemoryTransport({ writeLimit: 100 });
    const p = new EchoRecorder();
    t.connect(p);
    t.receive(bytes(1000));
    t.receiveEnd();
    expect(t.value().length).toBe(100);
    expect(p.events).not.toContain("lost");
    for (let i = 0; i < 9; i++) t.drain();
    expect(t.value()).toEqual(bytes(1000));
    expect(p.events.at(-1)).toBe("lost");
    expect(p.reasons[0]).toBeInstanceOf(ConnectionDone);
  });
});

describe("writes", () => {
  test("queue what the socket does not take and send it in order on drain", () => {
    const t = new MemoryTransport({ writeLimit: 10 });
    t.connect(new Protocol());
    t.write(bytes(25, 1));
    t.write(bytes(5, 2));
    expect(t.bufferSize).toBe(20);
    t.drain();
    t.drain();
    expect(t.bufferSize).toBe(0);
    expect(t.value()).toEqual(Uint8Array.from([...bytes(25, 1), ...bytes(5, 2)]));
  });

  test("writeSequence and strings write the same bytes as single writes", () => {
    const t = new MemoryTransport();
    t.connect(new Protocol());
    t.writeSequence(["he", new TextEncoder().encode("ll"), "o"]);
    t.write("");
    t.write(" world");
    expect(t.text()).toBe("hello world");
  });

  test("are ignored after the connection is aborted or closed", () => {
    const t = new MemoryTransport();
    const p = new Recorder();
    t.connect(p);
    t.abortConnection();
    t.write("late");
    t.loseConnection();
    t.abortConnection();
    expect(t.value().length).toBe(0);
    expect(p.reasons).toHaveLength(1);
    expect(p.reasons[0]).toBeInstanceOf(ConnectionAborted);
  });
});

describe("backpressure", () => {
  test("stops reading above the high-water mark and resumes at the low-water mark", () => {
    const t = new MemoryTransport({ writeLimit: 0, highWaterMark: 100, lowWaterMark: 40 });
    t.connect(new EchoProtocol());
    t.receive(bytes(100));
    expect(t.reading).toBe(true);
    t.receive(bytes(1));
    expect(t.reading).toBe(false);
    expect(t.bufferSize).toBe(101);
  });

  test("resumes reading once drained to the low-water mark, not before", () => {
    const t = new MemoryTransport({ writeLimit: 30, highWaterMark: 100, lowWaterMark: 40 });
    t.connect(new Protocol());
    t.write(bytes(200));
    expect(t.bufferSize).toBe(170);
    expect(t.reading).toBe(false);
    t.drain(); // 140 queued
    t.drain(); // 110
    t.drain(); // 80
    t.drain(); // 50
    expect(t.reading).toBe(false);
    t.drain(); // 20
    expect(t.reading).toBe(true);
  });

  test("pauseProducing stops reading with an empty queue, and resumeProducing starts it again", () => {
    const t = new MemoryTransport();
    t.connect(new Protocol());
    t.pauseProducing();
    expect(t.reading).toBe(false);
    t.write("x");
    expect(t.reading).toBe(false);
    t.resumeProducing();
    expect(t.reading).toBe(true);
  });

  test("resumeProducing does not override backpressure", () => {
    const t = new MemoryTransport({ writeLimit: 0, highWaterMark: 10, lowWaterMark: 0 });
    t.connect(new Protocol());
    t.write(new Uint8Array(20));
    t.pauseProducing();
    t.resumeProducing();
    expect(t.reading).toBe(false);
  });

  test("a registered producer is paused and resumed with the queue, and stopped on close", () => {
    const calls: string[] = [];
    const producer = {
      pauseProducing: () => calls.push("pause"),
      resumeProducing: () => calls.push("resume"),
      stopProducing: () => calls.push("stop"),
    };
    const t = new MemoryTransport({ writeLimit: 0, highWaterMark: 10, lowWaterMark: 5 });
    t.connect(new Protocol());
    t.registerProducer(producer);
    expect(() => t.registerProducer(producer)).toThrow(/already registered/);
    t.write(bytes(11));
    expect(calls).toEqual(["pause"]);
    t.abortConnection();
    expect(calls).toEqual(["pause", "stop"]);
  });
});

describe("loseConnection", () => {
  test("flushes the queue, sends FIN, and closes cleanly when the peer answers with its FIN", () => {
    const t = new MemoryTransport({ writeLimit: 4 });
    const p = new Recorder();
    t.connect(p);
    t.write("12345678");
    t.loseConnection();
    t.loseConnection();
    expect(t.writeShut).toBe(false);
    t.drain();
    expect(t.text()).toBe("12345678");
    expect(t.writeShut).toBe(true);
    expect(p.events).not.toContain("lost");
    t.receiveEnd();
    expect(p.reasons).toHaveLength(1);
    expect(p.reasons[0]).toBeInstanceOf(ConnectionDone);
    expect(t.aborted).toBe(false);
  });

  test("closes without a reset when the peer never sends FIN within the linger timeout", () => {
    vi.useFakeTimers();
    const t = new MemoryTransport({ lingerTimeout: 500 });
    const p = new Recorder();
    t.connect(p);
    t.loseConnection();
    vi.advanceTimersByTime(499);
    expect(p.events).not.toContain("lost");
    vi.advanceTimersByTime(1);
    expect(p.reasons[0]).toBeInstanceOf(ConnectionDone);
    expect(t.aborted).toBe(false);
  });

  test("closes a peer silent for lingerIdleTimeout after our FIN, counting again from each read, and at lingerTimeout in all", () => {
    vi.useFakeTimers();
    const silent = new MemoryTransport({ lingerTimeout: 3000, lingerIdleTimeout: 1000 });
    const p = new Recorder();
    silent.connect(p);
    silent.loseConnection();
    vi.advanceTimersByTime(999);
    silent.receive("x");
    vi.advanceTimersByTime(999);
    expect(p.events).not.toContain("lost");
    vi.advanceTimersByTime(1);
    expect(p.reasons[0]).toBeInstanceOf(ConnectionDone);
    expect(silent.aborted).toBe(false);
    const trickling = new MemoryTransport({ lingerTimeout: 3000, lingerIdleTimeout: 1000 });
    const q = new Recorder();
    trickling.connect(q);
    trickling.loseConnection();
    for (let ms = 0; ms < 2999; ms += 500) {
      vi.advanceTimersByTime(Math.min(500, 2999 - ms));
      trickling.receive("x");
    }
    expect(q.events).not.toContain("lost");
    vi.advanceTimersByTime(1);
    expect(q.reasons[0]).toBeInstanceOf(ConnectionDone);
    expect(trickling.aborted).toBe(false);
  });

  test("closes at once, without waiting for the linger timeouts, once the peer has sent more than lingerBytes after it", () => {
    const t = new MemoryTransport({ lingerBytes: 1000 });
    const p = new Recorder();
    t.connect(p);
    t.loseConnection();
    expect(t.writeShut).toBe(true);
    for (let i = 0; i < 10; i++) t.receive(new Uint8Array(100));
    expect(p.events).not.toContain("lost");
    t.receive(new Uint8Array(1));
    expect(p.reasons[0]).toBeInstanceOf(ConnectionDone);
    expect(t.aborted).toBe(false);
  });

  test("aborts when the peer sends more than lingerBytes after it while output is still unsent", () => {
    const t = new MemoryTransport({ writeLimit: 0, lingerBytes: 1000 });
    const p = new Recorder();
    t.connect(p);
    t.write("unread");
    t.loseConnection();
    t.receive(new Uint8Array(1000));
    expect(p.events).not.toContain("lost");
    t.receive(new Uint8Array(1));
    expect(t.aborted).toBe(true);
    expect(p.reasons[0]).toBeInstanceOf(ConnectionAborted);
    expect(p.reasons[0]!.message).toBe("Cannot close the connection cleanly: the peer sent more than 1000 bytes while output was unsent");
  });

  test("discards data that arrives after it", () => {
    const t = new MemoryTransport();
    const p = new Recorder();
    t.connect(p);
    t.loseConnection();
    t.receive("ignored");
    expect(p.received).toEqual([]);
  });
});

describe("a protocol that throws", () => {
  test("has its connection aborted and the error reported with the peer's address", () => {
    const seen: [unknown, Address][] = [];
    class Throws extends Recorder {
      override dataReceived(): void {
        throw new Error("boom");
      }
    }
    const t = new MemoryTransport({ onError: (e, peer) => seen.push([e, peer]) });
    const p = new Throws();
    t.connect(p);
    t.receive("x");
    expect(seen).toHaveLength(1);
    expect((seen[0]![0] as Error).message).toBe("boom");
    expect(seen[0]![1]).toEqual(t.getPeer());
    expect(t.aborted).toBe(true);
    expect(p.reasons[0]).toBeInstanceOf(ConnectionLost);
    expect((p.reasons[0]!.cause as Error).message).toBe("boom");
  });
});

test("rejects water marks with low above high", () => {
  expect(() => new MemoryTransport({ highWaterMark: 10, lowWaterMark: 20 })).toThrow(RangeError);
});
