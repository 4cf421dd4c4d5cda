import { afterEach, describe, expect, test, vi } from "vitest";
import { AcceptErrors, classifyAcceptError, EchoFactory, type LogEvent, Port, tcpAddress } from "../src/mod.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";

const withCode = (code: string) => Object.assign(new Error(`accept ${code}`), { code });
/** As Deno throws them: a class per kind, the errno only in the message for some. */
const denoError = (name: string, message: string) => Object.assign(new Error(message), { name });

afterEach(() => {
  vi.useRealTimers();
});

describe("classifyAcceptError", () => {
  test.each([
    ["ENOTCONN", "peer"],
    ["ECONNABORTED", "peer"],
    ["ECONNRESET", "peer"],
    ["EPROTO", "peer"],
    ["EMFILE", "resources"],
    ["ENFILE", "resources"],
    ["ENOBUFS", "resources"],
    ["ENOMEM", "resources"],
    ["EBADF", "other"],
    ["EINVAL", "other"],
  ])("reads Node's code %s as %s", (code, kind) => {
    expect(classifyAcceptError(withCode(code))).toBe(kind);
  });

  test.each([
    [denoError("NotConnected", "Transport endpoint is not connected (os error 107)"), "peer"],
    [denoError("ConnectionReset", "Connection reset by peer (os error 104)"), "peer"],
    [denoError("ConnectionAborted", "Software caused connection abort"), "peer"],
    [denoError("Error", "Too many open files (os error 24)"), "resources"],
    [denoError("Error", "Too many open files in system (os error 23)"), "resources"],
    [denoError("Error", "No buffer space available (os error 105)"), "resources"],
    [denoError("BadResource", "Bad resource ID"), "other"],
    [denoError("Interrupted", "operation canceled"), "other"],
  ])("reads Deno's %s by its name or errno", (error, kind) => {
    expect(classifyAcceptError(error)).toBe(kind);
  });

  test("calls anything unreadable other", () => {
    expect(classifyAcceptError(undefined)).toBe("other");
    expect(classifyAcceptError(null)).toBe("other");
    expect(classifyAcceptError("boom")).toBe("other");
    expect(classifyAcceptError({ code: 24 })).toBe("other");
  });
});

describe("AcceptErrors", () => {
  function setUp() {
    vi.useFakeTimers();
    const lines: string[] = [];
    const errors = new AcceptErrors({ address: "127.0.0.1:8000", log: (line) => lines.push(line) });
    return { lines, errors };
  }

  test("a peer gone before accept (a health check that connects and closes) never pauses and is counted, never logged", () => {
    const { lines, errors } = setUp();
    const notConnected = denoError("NotConnected", "Transport endpoint is not connected (os error 107)");
    for (let i = 0; i < 500; i++) expect(errors.failed(notConnected)).toBe(0);
    errors.failed(withCode("ECONNABORTED"));
    errors.failed(withCode("ECONNRESET"));
    expect(lines).toEqual([]);
    vi.advanceTimersByTime(5000);
    errors.close();
    expect(lines).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    expect(errors.total).toBe(502);
    expect(errors.counts).toEqual({ peer: 502, resources: 0, other: 0 });
  });

  test("out of descriptors pauses 5 ms, doubling to at most 250 ms, and a successful accept starts over", () => {
    const { errors } = setUp();
    const pauses = Array.from({ length: 9 }, () => errors.failed(withCode("EMFILE")));
    expect(pauses).toEqual([5, 10, 20, 40, 80, 160, 250, 250, 250]);
    errors.accepted();
    expect(errors.failed(withCode("EMFILE"))).toBe(5);
    expect(errors.failed(withCode("ECONNABORTED"))).toBe(0);
    expect(errors.failed(withCode("EBADF"))).toBe(10);
  });

  test("out of descriptors logs its first line at once, then at most one line a second with a count", () => {
    const { lines, errors } = setUp();
    const emfile = denoError("Error", "Too many open files (os error 24)");
    errors.failed(emfile);
    expect(lines).toEqual([
      "Accept failed once on 127.0.0.1:8000: Too many open files (os error 24); pausing accepts until descriptors or memory are free (1 in all)",
    ]);
    // Three seconds of failures every 10 ms: one line a second, not 300.
    for (let ms = 0; ms < 3000; ms += 10) {
      errors.failed(emfile);
      vi.advanceTimersByTime(10);
    }
    expect(lines.length).toBe(4);
    expect(lines[1]).toMatch(/^Accept failed 100 times on 127\.0\.0\.1:8000: Too many open files .* \(101 in all\)$/);
    vi.advanceTimersByTime(1000);
    expect(lines.length).toBe(4);
    expect(lines.at(-1)).toMatch(/\(301 in all\)$/);
    // Quiet for over a second: the next failure is news again and logs at once.
    vi.advanceTimersByTime(1000);
    errors.failed(emfile);
    expect(lines.length).toBe(5);
    expect(lines.at(-1)).toMatch(/^Accept failed once .*\(302 in all\)$/);
  });

  test("each logged kind gets its own line, with its own newest message, and every kind its own count", () => {
    const { lines, errors } = setUp();
    errors.failed(withCode("EMFILE"));
    errors.failed(withCode("ECONNRESET"));
    errors.failed(withCode("ECONNRESET"));
    errors.failed(new Error("Bad resource ID\nwith a second line"));
    vi.advanceTimersByTime(1000);
    expect(lines).toEqual([
      "Accept failed once on 127.0.0.1:8000: accept EMFILE; pausing accepts until descriptors or memory are free (1 in all)",
      "Accept failed once on 127.0.0.1:8000: Bad resource ID; retrying after a pause (1 in all)",
    ]);
    expect(errors.counts).toEqual({ peer: 2, resources: 1, other: 1 });
  });

  test("each line carries an accept_failed event with its kind, message, count and total", () => {
    vi.useFakeTimers();
    const events: (LogEvent | undefined)[] = [];
    const errors = new AcceptErrors({ address: "127.0.0.1:8000", log: (_, event) => events.push(event) });
    const emfile = denoError("Error", "Too many open files (os error 24)");
    errors.failed(emfile);
    errors.failed(emfile);
    errors.failed(emfile);
    vi.advanceTimersByTime(1000);
    expect(events).toEqual([
      {
        event: "accept_failed",
        level: "warn",
        endpoint: "127.0.0.1:8000",
        fields: { kind: "resources", error: "Too many open files (os error 24)", count: 1, total: 1 },
      },
      {
        event: "accept_failed",
        level: "warn",
        endpoint: "127.0.0.1:8000",
        fields: { kind: "resources", error: "Too many open files (os error 24)", count: 2, total: 3 },
      },
    ]);
    errors.close();
  });

  test("close logs what is still counted and leaves no timer behind", () => {
    const { lines, errors } = setUp();
    errors.failed(withCode("EMFILE"));
    errors.failed(withCode("EMFILE"));
    errors.close();
    expect(lines).toEqual([
      expect.stringMatching(/^Accept failed once .*EMFILE.*\(1 in all\)$/),
      expect.stringMatching(/^Accept failed once .*EMFILE.*\(2 in all\)$/),
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("Port.acceptFailed", () => {
  test("logs through the port's log, counts, and a connection accepted resets the pause", async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const host = tcpAddress("127.0.0.1", 8000);
    const port = new Port(new EchoFactory(), host, { log: (l) => lines.push(l) }, () => {});
    expect(port.acceptFailed(withCode("EMFILE"))).toBe(5);
    expect(port.acceptFailed(withCode("EMFILE"))).toBe(10);
    port.accept(new FakeSocket(), tcpAddress("127.0.0.1", 40000), host, () => {});
    expect(port.acceptFailed(withCode("EMFILE"))).toBe(5);
    expect(port.acceptFailed(withCode("ENOTCONN"))).toBe(0);
    expect(port.acceptFailures).toBe(4);
    expect(port.metrics()).toMatchObject({ acceptFailuresPeerGone: 1, acceptFailuresResources: 3, acceptFailuresOther: 0 });
    expect(lines).toEqual([expect.stringMatching(/^Accept failed once on 127\.0\.0\.1:8000: accept EMFILE/)]);
    const closed = port.close({ grace: 0 });
    await vi.runAllTimersAsync();
    await closed;
    // The two EMFILE after the first are summarised; the ENOTCONN never is.
    expect(lines.length).toBe(2);
    expect(lines.join("\n")).not.toMatch(/ENOTCONN/);
    expect(vi.getTimerCount()).toBe(0);
  });
});
