import { afterEach, describe, expect, test, vi } from "vitest";
import {
  ClientFactory,
  ConnectError,
  connectError,
  Connector,
  type Dial,
  MemoryTransport,
  parseClientEndpoint,
  Protocol,
  type Reason,
  ReconnectingClientFactory,
  resolveClientEndpoint,
  tcpAddress,
} from "../src/mod.ts";
import { NullSocket } from "./helpers/fake_socket.ts";

const endpoint = parseClientEndpoint("tcp:host=127.0.0.1:port=9:timeout=1");

/** A dial that fails with `error`, or opens a NullSocket when given none. */
function fakeDial(outcomes: (unknown | "open" | "hang")[]): Dial & { sockets: NullSocket[] } {
  const sockets: NullSocket[] = [];
  const dial = (async (_e, open) => {
    const outcome = outcomes.shift() ?? "open";
    if (outcome === "hang") return new Promise<void>(() => {});
    if (outcome !== "open") throw outcome;
    const socket = new NullSocket();
    sockets.push(socket);
    open(socket, tcpAddress("127.0.0.1", 9), tcpAddress("127.0.0.1", 50000), (c) => (socket.connection = c));
  }) as Dial & { sockets: NullSocket[] };
  dial.sockets = sockets;
  return dial;
}

class Recorder extends ClientFactory {
  readonly events: string[] = [];
  override protocol = Protocol;
  override startedConnecting(): void {
    this.events.push("started");
  }
  override clientConnectionFailed(_c: Connector, reason: ConnectError): void {
    this.events.push(`failed ${reason.code}`);
  }
  override clientConnectionLost(_c: Connector, reason: Reason): void {
    this.events.push(`lost ${reason.name}`);
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("connect errors", () => {
  test.each([
    [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:9" }, "ECONNREFUSED", "connection refused"],
    [Object.assign(new Error("Connection refused (os error 111)"), { name: "ConnectionRefused" }), "ECONNREFUSED", "connection refused"],
    [{ code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND nowhere.invalid" }, "ENOTFOUND", "host name not found"],
    [new Error("failed to lookup address information: Name or service not known"), "ENOTFOUND", "host name not found"],
    [{ code: "EHOSTUNREACH", message: "connect EHOSTUNREACH" }, "EHOSTUNREACH", "host unreachable"],
    [{ code: "ENETUNREACH", message: "connect ENETUNREACH" }, "ENETUNREACH", "network unreachable"],
    [{ code: "ETIMEDOUT", message: "connect ETIMEDOUT" }, "ETIMEDOUT", "timed out"],
    [Object.assign(new Error("Requires net access"), { name: "NotCapable" }), "ENOTCAPABLE", "network access denied; run deno with --allow-net"],
    [{ code: "EWEIRD", message: "something odd\nsecond line" }, "EWEIRD", "something odd"],
  ])("a runtime's %o becomes a one-line ConnectError with code %s", (error, code, text) => {
    const e = connectError(endpoint, error);
    expect(e).toBeInstanceOf(ConnectError);
    expect(e.code).toBe(code);
    expect(e.message).toBe(`Cannot connect to 127.0.0.1:9: ${text}`);
    expect(e.cause).toBe(error);
  });
});

test("Deno's refusal of a Unix socket names the file permissions it needs", () => {
  const e = connectError(parseClientEndpoint("unix:/tmp/x.sock"), Object.assign(new Error("Requires read access"), { name: "NotCapable" }));
  expect(e.message).toBe("Cannot connect to unix:/tmp/x.sock: file access denied; run deno with --allow-read --allow-write");
  expect(e.code).toBe("ENOTCAPABLE");
});

describe("connector", () => {
  test("a refused attempt calls clientConnectionFailed with the code and rejects first", async () => {
    const factory = new Recorder();
    const connector = new Connector(factory, endpoint, fakeDial([{ code: "ECONNREFUSED", message: "x" }]));
    connector.connect();
    await expect(connector.first).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(factory.events).toEqual(["started", "failed ECONNREFUSED"]);
    expect(connector.state).toBe("disconnected");
  });

  test("an attempt that does not finish within the timeout fails with ETIMEDOUT", async () => {
    vi.useFakeTimers();
    const factory = new Recorder();
    const connector = new Connector(factory, endpoint, fakeDial(["hang"]));
    connector.connect();
    vi.advanceTimersByTime(1000);
    await expect(connector.first).rejects.toThrow("Cannot connect to 127.0.0.1:9: timed out after 1 s");
    expect(factory.events).toEqual(["started", "failed ETIMEDOUT"]);
  });

  test("a connection made resolves first with the protocol, and its close reaches clientConnectionLost once", async () => {
    const factory = new Recorder();
    const dial = fakeDial(["open"]);
    const connector = new Connector(factory, endpoint, dial);
    connector.connect();
    const protocol = await connector.first;
    expect(protocol.connected).toBe(true);
    expect(connector.state).toBe("connected");
    connector.disconnect();
    dial.sockets[0]!.connection!.readEnded();
    expect(factory.events).toEqual(["started", "lost ConnectionDone"]);
    expect(connector.state).toBe("disconnected");
  });

  test("stopConnecting abandons an attempt under way with ECANCELED", async () => {
    const factory = new Recorder();
    const connector = new Connector(factory, endpoint, fakeDial(["hang"]));
    connector.connect();
    connector.stopConnecting();
    await expect(connector.first).rejects.toMatchObject({ code: "ECANCELED" });
  });

  test("a target of host and port becomes a tcp endpoint; a bad one is refused", () => {
    expect(resolveClientEndpoint({ host: "::1", port: 80 })).toEqual({ type: "tcp", host: "::1", port: 80, timeout: 30_000 });
    expect(() => resolveClientEndpoint({ host: "h", port: 70000 })).toThrow(RangeError);
    expect(() => resolveClientEndpoint("tcp:host=h")).toThrow("missing port");
  });
});

describe("reconnecting client factory", () => {
  function reconnecting(outcomes: unknown[]) {
    vi.useFakeTimers();
    const factory = new ReconnectingClientFactory();
    factory.protocol = Protocol;
    factory.jitter = 0;
    const delays: number[] = [];
    const dial = fakeDial(outcomes);
    const connector = new Connector(factory, endpoint, dial);
    const retryAfter = connector.retryAfter.bind(connector);
    connector.retryAfter = (ms) => {
      delays.push(ms);
      retryAfter(ms);
    };
    return { factory, connector, delays, dial };
  }
  const refused = { code: "ECONNREFUSED", message: "refused" };

  test("waits initialDelay times factor, growing each failure up to maxDelay", async () => {
    const { factory, connector, delays } = reconnecting([refused, refused, refused, refused, refused]);
    factory.initialDelay = 1;
    factory.delay = 1;
    factory.factor = 2;
    factory.maxDelay = 10;
    connector.connect();
    for (let i = 0; i < 5; i++) await vi.advanceTimersToNextTimerAsync();
    expect(delays).toEqual([2000, 4000, 8000, 10000, 10000]);
  });

  test("resets its delay once connected and reconnects after the connection is lost", async () => {
    const { factory, connector, delays, dial } = reconnecting([refused, refused, "open", "open"]);
    factory.factor = 2;
    connector.connect();
    await vi.advanceTimersToNextTimerAsync();
    await vi.advanceTimersToNextTimerAsync();
    const protocol = await connector.first;
    expect(factory.retries).toBe(0);
    expect(factory.delay).toBe(1);
    protocol.transport.abortConnection();
    expect(connector.state).toBe("disconnected");
    await vi.advanceTimersToNextTimerAsync();
    expect(dial.sockets.length).toBe(2);
    expect(connector.state).toBe("connected");
    expect(delays).toEqual([2000, 4000, 2000]);
  });

  test("gives up after maxRetries and rejects first", async () => {
    const { factory, connector } = reconnecting([refused, refused, refused]);
    factory.maxRetries = 2;
    connector.connect();
    for (let i = 0; i < 3; i++) await vi.advanceTimersToNextTimerAsync();
    await expect(connector.first).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(factory.retries).toBe(3);
  });

  test("stopTrying cancels the scheduled retry", async () => {
    const { factory, connector, dial } = reconnecting([refused, "open"]);
    connector.connect();
    await vi.advanceTimersByTimeAsync(0);
    factory.stopTrying();
    await vi.runAllTimersAsync();
    expect(dial.sockets.length).toBe(0);
    await expect(connector.first).rejects.toMatchObject({ code: "ECANCELED" });
  });

  test("a jittered wait drawn below zero retries at once but keeps the back-off growing, not stuck at 0", async () => {
    const { factory, connector, delays } = reconnecting([refused, refused, refused, refused, refused]);
    factory.factor = 2;
    factory.jitter = 0.5;
    // Box-Muller: u = 1e-6 and v = 0.5 draw 5.26 deviations below the mean, then u = 0.5 and
    // v = 0.25 draw (almost exactly) the mean each time.
    const draws = [1 - 1e-6, 0.5, ...Array.from({ length: 8 }, () => [0.5, 0.25]).flat()];
    let next = 0;
    factory.random = () => draws[next++]!;
    connector.connect();
    for (let i = 0; i < 4; i++) await vi.advanceTimersToNextTimerAsync();
    expect(delays.map((ms) => Math.round(ms))).toEqual([0, 4000, 8000, 16000, 32000]);
  });

  test("retry() before any connection attempt is an error, as Twisted's 'no connector to retry'", () => {
    const factory = new ReconnectingClientFactory();
    expect(() => factory.retry()).toThrow(new Error("Cannot retry: the factory has no connector yet (connect it first)"));
    factory.stopTrying();
    expect(() => factory.retry()).not.toThrow();
  });

  test("jitter spreads the delay normally around its value, as Twisted's", () => {
    vi.useFakeTimers();
    const factory = new ReconnectingClientFactory();
    const connector = new Connector(factory, endpoint, fakeDial([]));
    const delays: number[] = [];
    connector.retryAfter = (ms) => void delays.push(ms);
    for (let i = 0; i < 2000; i++) {
      factory.resetDelay();
      factory.retry(connector);
    }
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    const sd = Math.sqrt(delays.reduce((a, b) => a + (b - mean) ** 2, 0) / delays.length);
    expect(mean / 1000).toBeCloseTo(Math.E, 1);
    expect(sd / 1000 / Math.E).toBeGreaterThan(0.09);
    expect(sd / 1000 / Math.E).toBeLessThan(0.15);
  });
});

describe("loseWriteConnection", () => {
  test("sends FIN after the queue drains, goes on reading, and closes once the peer's FIN arrives", () => {
    const t = new MemoryTransport({ writeLimit: 3 });
    const seen: string[] = [];
    class P extends Protocol {
      override dataReceived(d: Uint8Array): void {
        seen.push(new TextDecoder().decode(d));
      }
    }
    t.connect(new P());
    t.write("hello");
    t.loseWriteConnection();
    t.write("ignored");
    expect(t.writeShut).toBe(false);
    t.drain();
    expect(t.text()).toBe("hello");
    expect(t.writeShut).toBe(true);
    t.receive("reply");
    expect(seen).toEqual(["reply"]);
    t.receiveEnd();
    expect(t.disconnected).toBe(true);
    expect(t.reason?.name).toBe("ConnectionDone");
  });
});

describe("the connect option tls", () => {
  test("fills in a tls: endpoint's TLS policy where the endpoint says nothing, before the adapter sees it", () => {
    const seen: unknown[] = [];
    const dial: Dial = (e) => {
      seen.push(e);
      return new Promise<void>(() => {});
    };
    const tls = { ciphers: ["AES128-SHA"], minVersion: "1.3" } as const;
    new Connector(new ClientFactory(), parseClientEndpoint("tls:h:1:minVersion=1.2"), dial, { tls }).connect();
    new Connector(new ClientFactory(), parseClientEndpoint("tcp:h:1"), dial, { tls }).connect();
    expect(seen).toEqual([
      { type: "tls", host: "h", port: 1, timeout: 30_000, servername: "h", minVersion: "1.2", ciphers: ["AES128-SHA"] },
      { type: "tcp", host: "h", port: 1, timeout: 30_000 },
    ]);
  });

  test("is checked when the connector is made", () => {
    expect(() => new Connector(new ClientFactory(), endpoint, fakeDial([]), { tls: { ciphers: [] } })).toThrow(
      new RangeError("Cannot connect with tls: ciphers is empty (leave it out for Mozilla's intermediate suites)"),
    );
  });
});
