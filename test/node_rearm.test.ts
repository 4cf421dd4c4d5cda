import { afterEach, describe, expect, test, vi } from "vitest";
import { keepAccepting, type ListenerHandle, REARM_MS, rearmer } from "../adapters/node/rearm.ts";
import { EchoFactory, Port, tcpAddress } from "../src/mod.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** Deno's TCPWrap, as re-arming sees it: `listen()` on a listening handle succeeds. */
function tcpHandle(status = () => 0): ListenerHandle & { calls: number } {
  const handle = {
    calls: 0,
    listen: (_backlog: number) => {
      handle.calls++;
      return status();
    },
  };
  return handle;
}

/** Deno's PipeWrap: `listen()` fails with EINVAL, `readStart()` needs `onread`. */
function pipeHandle(): ListenerHandle & { starts: number; stops: number } {
  const handle: ListenerHandle & { starts: number; stops: number } = {
    starts: 0,
    stops: 0,
    listen: () => -22,
    readStart: () => {
      handle.starts++;
      return typeof handle.onread === "function" ? 0 : -9;
    },
    readStop: () => {
      handle.stops++;
      return 0;
    },
  };
  return handle;
}

describe("rearmer", () => {
  test("re-arms a TCP handle by listening again", () => {
    const handle = tcpHandle();
    const rearm = rearmer(handle)!;
    expect(rearm()).toBe(0);
    expect(handle.calls).toBe(2);
  });

  test("re-arms a pipe handle, which cannot listen twice, by starting and stopping reads", () => {
    const handle = pipeHandle();
    const rearm = rearmer(handle)!;
    expect(rearm()).toBe(0);
    expect(handle.starts).toBe(2);
    expect(handle.stops).toBe(2);
  });

  test("finds no way for a handle without listen or readStart, or with neither working", () => {
    expect(rearmer(null)).toBeUndefined();
    expect(rearmer({})).toBeUndefined();
    expect(rearmer({ listen: () => -22 })).toBeUndefined();
    expect(rearmer({ listen: () => { throw new Error("Requires net access"); } })).toBeUndefined();
    expect(rearmer({ listen: () => -22, readStart: () => -9, readStop: () => 0, onread: () => {} })).toBeUndefined();
  });
});

describe("keepAccepting", () => {
  test("off Deno touches nothing", () => {
    const handle = tcpHandle();
    keepAccepting({ _handle: handle }, () => {}, false)();
    expect(handle.calls).toBe(0);
  });

  test(`on Deno re-arms every ${REARM_MS} ms until stopped`, () => {
    vi.useFakeTimers();
    const handle = tcpHandle();
    const stop = keepAccepting({ _handle: handle }, () => {}, true);
    vi.advanceTimersByTime(REARM_MS * 5);
    expect(handle.calls).toBe(1 + 5);
    stop();
    vi.advanceTimersByTime(REARM_MS * 5);
    expect(handle.calls).toBe(1 + 5);
  });

  test("on Deno refuses to start a listener it cannot re-arm, in one line", () => {
    expect(() => keepAccepting({ _handle: {} }, () => {}, true)).toThrow(/^cannot re-arm Deno's node:net listener .*stop accepting for good$/);
  });

  test("reports once, and stops, when re-arming starts to fail", () => {
    vi.useFakeTimers();
    let status = 0;
    const handle = tcpHandle(() => status);
    const lost = vi.fn();
    keepAccepting({ _handle: handle }, lost, true);
    vi.advanceTimersByTime(REARM_MS * 2);
    status = -9;
    vi.advanceTimersByTime(REARM_MS * 5);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(String(lost.mock.calls[0]![0].message)).toMatch(/^cannot re-arm Deno's node:net listener \(error -9\)/);
    expect(handle.calls).toBe(1 + 3);
  });

  test("counts a re-arming call that throws as failed, and names why", () => {
    vi.useFakeTimers();
    let fail = false;
    const lost = vi.fn();
    keepAccepting({ _handle: tcpHandle(() => {
      if (fail) throw new Error("Requires net access\nmore");
      return 0;
    }) }, lost, true);
    fail = true;
    vi.advanceTimersByTime(REARM_MS * 3);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(lost.mock.calls[0]![0].message).toBe("cannot re-arm Deno's node:net listener (Requires net access), so it would stop accepting for good after running out of descriptors");
  });

  test("stops quietly once the server has let go of its handle", () => {
    vi.useFakeTimers();
    const handle = tcpHandle();
    const server: { _handle: ListenerHandle | null } = { _handle: handle };
    const lost = vi.fn();
    keepAccepting(server, lost, true);
    server._handle = null;
    vi.advanceTimersByTime(REARM_MS * 5);
    expect(handle.calls).toBe(1);
    expect(lost).not.toHaveBeenCalled();
  });
});

describe("Port.listenerLost", () => {
  test("logs one line, closes the port and its connections, then calls onListenerLost", async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const lost = vi.fn();
    let stopped = 0;
    const port = new Port(new EchoFactory(), tcpAddress("127.0.0.1", 8000), { log: (line) => lines.push(line), onListenerLost: lost }, () => {
      stopped++;
    });
    const socket = new FakeSocket();
    port.accept(socket, tcpAddress("127.0.0.1", 40000), port.address, (c) => (socket.onClosed = () => c.closed()));
    const error = new Error("cannot re-arm Deno's node:net listener (error -9)");
    port.listenerLost(error);
    port.listenerLost(error);
    // A half-closed connection gets a second to flush before it is aborted.
    await vi.advanceTimersByTimeAsync(2000);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(lost).toHaveBeenCalledWith(error);
    expect(lines).toEqual(["Stopped listening on 127.0.0.1:8000: cannot re-arm Deno's node:net listener (error -9)"]);
    expect(stopped).toBe(1);
    expect(port.connections).toBe(0);
    expect(socket.calls).toEqual(["shutdownWrite", "abort"]);
  });
});
