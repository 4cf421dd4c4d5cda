import { afterEach, describe, expect, test, vi } from "vitest";
import {
  type Address,
  ConnectionAborted,
  EchoFactory,
  Factory,
  listenError,
  Port,
  Protocol,
  type Reason,
  resolveListenOptions,
  tcpAddress,
} from "../src/mod.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";

const peer = tcpAddress("127.0.0.1", 40000);
const host = tcpAddress("127.0.0.1", 8000);


function accept(port: Port): { socket: FakeSocket; connection: ReturnType<Port["accept"]> } {
  const socket = new FakeSocket();
  const connection = port.accept(socket, peer, host, (c) => (socket.onClosed = () => c.closed()));
  return { socket, connection };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Factory", () => {
  test("forProtocol builds the protocol and sets its factory", () => {
    class P extends Protocol {}
    const f = Factory.forProtocol(P);
    const p = f.buildProtocol(peer);
    expect(p).toBeInstanceOf(P);
    expect(p!.factory).toBe(f);
  });

  test("buildProtocol without a protocol class throws a TypeError", () => {
    expect(() => new Factory().buildProtocol(peer)).toThrow(TypeError);
  });

  test("startFactory runs for the first port and stopFactory after the last", () => {
    const calls: string[] = [];
    class F extends Factory {
      override startFactory(): void {
        calls.push("start");
      }
      override stopFactory(): void {
        calls.push("stop");
      }
    }
    const f = new F();
    f.doStart();
    f.doStart();
    f.doStop();
    expect(calls).toEqual(["start"]);
    f.doStop();
    f.doStop();
    expect(calls).toEqual(["start", "stop"]);
  });
});

describe("Port", () => {
  test("counts connections and refuses with an orderly close when buildProtocol returns null", () => {
    class Refuse extends Factory {
      override buildProtocol(_addr: Address): Protocol | null {
        return null;
      }
    }
    const port = new Port(new Refuse(), host, {}, () => {});
    const { socket, connection } = accept(port);
    expect(port.connections).toBe(1);
    expect(socket.calls).toEqual(["shutdownWrite"]);
    connection.readEnded();
    expect(socket.calls).toEqual(["shutdownWrite", "close"]);
    expect(port.connections).toBe(0);
  });

  test("close waits out the grace period, then closes, then aborts what is left, then stops the factory", async () => {
    vi.useFakeTimers();
    const reasons: Reason[] = [];
    class Stubborn extends Protocol {
      override connectionLost(reason: Reason): void {
        reasons.push(reason);
      }
    }
    const calls: string[] = [];
    class F extends Factory {
      override stopFactory(): void {
        calls.push("stopFactory");
      }
    }
    const f = new F();
    f.protocol = Stubborn;
    const port = new Port(f, host, {}, () => void calls.push("stopListening"));
    const { socket } = accept(port);
    const closed = port.close({ grace: 1000 });
    expect(port.close()).toBe(closed);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toEqual(["stopListening"]);
    expect(socket.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.calls).toEqual(["shutdownWrite"]);
    await vi.advanceTimersByTimeAsync(1000);
    await closed;
    expect(socket.calls).toEqual(["shutdownWrite", "abort"]);
    expect(reasons[0]).toBeInstanceOf(ConnectionAborted);
    expect(calls).toEqual(["stopListening", "stopFactory"]);
  });

  test("serves a connection the runtime hands over after close began, within the grace period (a reload's old worker resets no one)", async () => {
    vi.useFakeTimers();
    const port = new Port(new EchoFactory(), host, {}, () => {});
    const closed = port.close({ grace: 1000 });
    const { socket, connection } = accept(port);
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.calls).toEqual([]);
    const writes: string[] = [];
    socket.write = (data) => (writes.push(new TextDecoder().decode(data)), data.length);
    connection.received(new TextEncoder().encode("late"));
    expect(writes).toEqual(["late"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(socket.calls).toContain("shutdownWrite");
    await vi.advanceTimersByTimeAsync(1000);
    await closed;
  });

  test("aborts connections accepted after the grace period is over", async () => {
    const port = new Port(new EchoFactory(), host, {}, () => {});
    await port.close({ grace: 0 });
    const { socket } = accept(port);
    expect(socket.calls).toEqual(["abort"]);
  });
});

describe("listen options", () => {
  test("default to 127.0.0.1:8000", () => {
    expect(resolveListenOptions({})).toEqual({ host: "127.0.0.1", port: 8000 });
  });

  test.each([-1, 65536, 1.5, NaN])("reject port %s with a RangeError", (port) => {
    expect(() => resolveListenOptions({ port })).toThrow(RangeError);
  });

  test.each([0, -1, NaN])("reject handshakeTimeout %s with a RangeError naming it", (handshakeTimeout) => {
    expect(() => resolveListenOptions({ handshakeTimeout })).toThrow(
      new RangeError(`Cannot listen with handshakeTimeout ${handshakeTimeout}: must be a number of at least 1`),
    );
  });

  test("reject a bad TLS policy with one line naming it", () => {
    expect(() => resolveListenOptions({ tls: { minVersion: "1.1" as "1.2" } })).toThrow(
      new RangeError("Cannot listen with tls: bad minVersion '1.1' (expected 1.2 or 1.3)"),
    );
  });

  test("reject a port that is not a number with a TypeError", () => {
    expect(() => resolveListenOptions({ port: "80" as unknown as number })).toThrow(TypeError);
  });

  test.each([
    [{ code: "EADDRINUSE" }, "EADDRINUSE", "address already in use"],
    [{ name: "AddrInUse" }, "EADDRINUSE", "address already in use"],
    [{ name: "NotCapable" }, "ENOTCAPABLE", "run deno with --allow-net"],
    [{ code: "EACCES" }, "EACCES", "permission denied"],
  ])("map runtime error %o to code %s", (error, code, text) => {
    const e = listenError("127.0.0.1", 80, error);
    expect(e.code).toBe(code);
    expect(e.message).toBe(`Cannot listen on 127.0.0.1:80: ${e.message.split(": ").slice(1).join(": ")}`);
    expect(e.message).toContain(text);
    expect(e.message).not.toContain("\n");
  });
});
