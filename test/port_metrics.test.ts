import { afterEach, describe, expect, test, vi } from "vitest";
import {
  type Connection,
  EchoFactory,
  Factory,
  IdleTimeout,
  LineReceiver,
  type LogEvent,
  Port,
  preparePort,
  PORT_METRIC_NAMES,
  Protocol,
  ProtocolError,
  type Reason,
  type Socket,
  tcpAddress,
} from "../src/mod.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";

const peer = tcpAddress("127.0.0.1", 40000);
const host = tcpAddress("127.0.0.1", 8000);
const bytes = (text: string) => new TextEncoder().encode(text);

/** A socket that takes at most `limit` bytes per write until `drain()`, as a full kernel buffer. */
class SlowSocket extends FakeSocket {
  connection: Connection | undefined;
  taken = 0;
  full = false;
  readonly limit: number;
  constructor(limit: number) {
    super();
    this.limit = limit;
  }
  override write(data: Uint8Array): number {
    if (this.full) return 0;
    const n = Math.min(this.limit, data.length);
    this.taken += n;
    if (n < data.length) this.full = true;
    return n;
  }
  drain(): void {
    this.full = false;
    this.connection!.writable();
  }
}

function accept(port: Port, socket: Socket & { onClosed?: (() => void) | undefined; connection?: Connection } = new FakeSocket()) {
  const connection = port.accept(socket, peer, host, (c) => {
    socket.onClosed = () => c.closed();
    socket.connection = c;
  });
  return { socket, connection };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Port.metrics", () => {
  test("counts accepted, open and the bytes of known traffic exactly, in every chunking", () => {
    for (const size of [1, 2, 3, 7, 64]) {
      const port = new Port(new EchoFactory(), host, { log: () => {} }, () => {});
      const a = accept(port);
      const b = accept(port);
      const data = bytes("hello, metrics!\n".repeat(10));
      for (let i = 0; i < data.length; i += size) a.connection.received(data.subarray(i, i + size));
      b.connection.received(bytes("xyz"));
      const m = port.metrics();
      expect(m.connectionsAccepted).toBe(2);
      expect(m.connectionsOpen).toBe(2);
      expect(m.bytesRead).toBe(data.length + 3);
      expect(m.bytesWritten).toBe(data.length + 3);
      a.connection.closed();
      expect(port.metrics().connectionsOpen).toBe(1);
      expect(port.metrics().connectionsAccepted).toBe(2);
    }
  });

  test("bytesWritten counts what the socket took, not what the protocol queued", () => {
    const port = new Port(new EchoFactory(), host, { log: () => {} }, () => {});
    const { socket, connection } = accept(port, new SlowSocket(4));
    connection.received(bytes("0123456789"));
    expect(port.metrics().bytesRead).toBe(10);
    expect(port.metrics().bytesWritten).toBe(4);
    (socket as SlowSocket).drain();
    // The queue flushes until the socket is full again: 4 more.
    expect(port.metrics().bytesWritten).toBe(8);
    (socket as SlowSocket).drain();
    expect(port.metrics().bytesWritten).toBe(10);
    expect((socket as SlowSocket).taken).toBe(10);
  });

  test("metrics: false leaves bytes at 0 and keeps the other counters", () => {
    const port = new Port(new EchoFactory(), host, { metrics: false, maxConnections: 1, log: () => {} }, () => {});
    const { connection } = accept(port);
    connection.received(bytes("hello"));
    accept(port);
    expect(port.metrics()).toMatchObject({ connectionsAccepted: 2, connectionsRefused: 1, bytesRead: 0, bytesWritten: 0 });
    expect(connection.traffic).toBeUndefined();
  });

  test("a snapshot is a frozen object with every documented field and nothing else", () => {
    const port = new Port(new EchoFactory(), host, { log: () => {} }, () => {});
    const m = port.metrics();
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.keys(m)).toEqual(PORT_METRIC_NAMES);
    for (const name of PORT_METRIC_NAMES) expect(m[name]).toBe(0);
    accept(port);
    expect(m.connectionsAccepted).toBe(0);
    expect(port.metrics().connectionsAccepted).toBe(1);
  });

  test("connections past maxConnections count as accepted and refused, and the line carries its count", () => {
    vi.useFakeTimers();
    const logged: [string, LogEvent | undefined][] = [];
    const port = new Port(new EchoFactory(), host, { maxConnections: 2, log: (l, e) => logged.push([l, e]) }, () => {});
    for (let i = 0; i < 5; i++) accept(port);
    // A refused connection stays open until the peer answers its FIN, as any closing one does.
    expect(port.metrics()).toMatchObject({ connectionsAccepted: 5, connectionsRefused: 3, connectionsOpen: 5 });
    vi.advanceTimersByTime(1000);
    expect(logged).toEqual([
      [
        "Refused 1 connection: 2 open, the most allowed (1 refused in all)",
        { event: "connection_refused", level: "warn", endpoint: "127.0.0.1:8000", peer: "127.0.0.1:40000", fields: { limit: 2, count: 1, total: 1 } },
      ],
      [
        "Refused 2 connections: 2 open, the most allowed (3 refused in all)",
        { event: "connection_refused", level: "warn", endpoint: "127.0.0.1:8000", peer: "127.0.0.1:40000", fields: { limit: 2, count: 2, total: 3 } },
      ],
    ]);
  });

  test("an idle timeout counts as closed idle, with IdleTimeout as the reason", () => {
    vi.useFakeTimers();
    const reasons: Reason[] = [];
    class Quiet extends Protocol {
      override connectionLost(reason: Reason): void {
        reasons.push(reason);
      }
    }
    const port = new Port(Factory.forProtocol(Quiet), host, { idleTimeout: 1000, log: () => {} }, () => {});
    const idle = accept(port).connection;
    const busy = accept(port).connection;
    vi.advanceTimersByTime(600);
    busy.received(bytes("still here"));
    vi.advanceTimersByTime(600);
    // The idle close is loseConnection(): FIN, then the peer's FIN ends it.
    idle.readEnded();
    expect(port.metrics().connectionsClosedIdle).toBe(1);
    expect(busy.disconnected).toBe(false);
    expect(reasons.filter((r) => r instanceof IdleTimeout)).toHaveLength(1);
    expect(reasons.find((r) => r instanceof IdleTimeout)!.message).toBe("Connection idle for 1 s");
  });

  test("a protocol that throws, a framing error and a factory that throws each count as a protocol-error close", () => {
    const logged: [string, LogEvent | undefined][] = [];
    class Throws extends Protocol {
      override dataReceived(): void {
        throw new Error("boom");
      }
    }
    class Short extends LineReceiver {
      override maxLength = 4;
    }
    const log = (l: string, e?: LogEvent) => logged.push([l, e]);
    const throwing = new Port(Factory.forProtocol(Throws), host, { log }, () => {});
    const t = accept(throwing);
    t.connection.received(bytes("x"));
    expect(t.connection.reason).toBeInstanceOf(ProtocolError);
    expect(throwing.metrics().connectionsClosedProtocolError).toBe(1);
    expect(logged).toEqual([
      [
        "Protocol error on connection from 127.0.0.1:40000: Error: boom",
        { event: "protocol_error", level: "error", endpoint: "127.0.0.1:8000", peer: "127.0.0.1:40000", fields: { error: "Error: boom" } },
      ],
    ]);

    const framing = new Port(Factory.forProtocol(Short), host, { log }, () => {});
    const f = accept(framing);
    f.connection.received(bytes("far too long"));
    f.connection.readEnded();
    expect(framing.metrics().connectionsClosedProtocolError).toBe(1);

    const broken = new Factory();
    broken.buildProtocol = () => {
      throw new Error("no protocol today");
    };
    const failing = new Port(broken, host, { log }, () => {});
    accept(failing);
    expect(failing.metrics().connectionsClosedProtocolError).toBe(1);
    expect(logged.at(-1)).toEqual([
      "buildProtocol failed: Error: no protocol today",
      {
        event: "build_protocol_failed",
        level: "error",
        endpoint: "127.0.0.1:8000",
        peer: "127.0.0.1:40000",
        fields: { error: "Error: no protocol today" },
      },
    ]);
  });

  test("an onError of the caller's still gets protocol errors instead of the log", () => {
    const logged: string[] = [];
    const errors: unknown[] = [];
    class Throws extends Protocol {
      override dataReceived(): void {
        throw new Error("boom");
      }
    }
    const port = new Port(Factory.forProtocol(Throws), host, { log: (l) => logged.push(l), onError: (e) => errors.push(e) }, () => {});
    accept(port).connection.received(bytes("x"));
    expect(errors).toHaveLength(1);
    expect(logged).toEqual([]);
    expect(port.metrics().connectionsClosedProtocolError).toBe(1);
  });

  test("rejected PROXY headers are counted, and the line carries the endpoint, the peer and the reason", async () => {
    await preparePort({ proxyProtocol: true });
    vi.useFakeTimers();
    const logged: [string, LogEvent | undefined][] = [];
    const port = new Port(new EchoFactory(), host, { proxyProtocol: true, log: (l, e) => logged.push([l, e]) }, () => {});
    accept(port).connection.received(bytes("GET / HTTP/1.1\r\n\r\n"));
    accept(port).connection.received(bytes("PROXY TCP4 127.0.0.1 127.0.0.1 1 2\r\nhi"));
    const m = port.metrics();
    expect(m.proxyHeadersRejected).toBe(1);
    expect(m.bytesRead).toBe(18 + 38);
    expect(logged).toHaveLength(1);
    const [line, event] = logged[0]!;
    expect(line).toMatch(/^Closed a connection from 127\.0\.0\.1:40000: /);
    expect(event).toMatchObject({
      event: "proxy_header_rejected",
      level: "warn",
      endpoint: "127.0.0.1:8000",
      peer: "127.0.0.1:40000",
      fields: { count: 1, total: 1 },
    });
    expect(typeof event!.fields!.reason).toBe("string");
  });

  test("TLS handshakes reported by the adapter are counted", () => {
    const port = new Port(new EchoFactory(), host, { log: () => {} }, () => {});
    port.handshakeCompleted();
    port.handshakeCompleted();
    port.handshakeFailed();
    expect(port.metrics()).toMatchObject({ tlsHandshakesCompleted: 2, tlsHandshakesFailed: 1 });
  });

  test("a lost listener logs a listener_lost event", async () => {
    const logged: [string, LogEvent | undefined][] = [];
    const port = new Port(new EchoFactory(), host, { log: (l, e) => logged.push([l, e]) }, () => {});
    port.listenerLost(new Error("cannot re-arm"));
    await port.close();
    expect(logged).toEqual([
      [
        "Stopped listening on 127.0.0.1:8000: cannot re-arm",
        { event: "listener_lost", level: "error", endpoint: "127.0.0.1:8000", fields: { error: "cannot re-arm" } },
      ],
    ]);
  });
});
