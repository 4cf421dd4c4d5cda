import { describe, expect, test } from "vitest";
import { coreLog, formatLog, forwardWorkerLine, listeningEvent, messageOf, serveEvent, stoppedEvent } from "../runner/log.ts";
import type { ServeLogEvent } from "../runner/log_format.ts";
import type { LogLevel } from "../runner/report.ts";
import type { Listener } from "../runner/service.ts";

type Written = [line: string, level: LogLevel, event: ServeLogEvent | undefined];

function sink(): { written: Written[]; log: (line: string, level: LogLevel, event?: ServeLogEvent) => void } {
  const written: Written[] = [];
  return { written, log: (line, level, event) => written.push([line, level, event]) };
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe("the runner's log", () => {
  test("human: the log is the sink itself, so every line reaches it as it always read", () => {
    const { log, written } = sink();
    expect(formatLog(log, "human")).toBe(log);
    expect(formatLog(log, "human", 2)).toBe(log);
    const event = serveEvent("worker_started", "info", { pid: 42 }, 1);
    formatLog(log, "human")("Worker 1 started (pid 42)", "info", event);
    expect(written).toEqual([["Worker 1 started (pid 42)", "info", event]]);
  });

  test("json: one JSON object per line with time, level, event, worker, message and the fields; the stream level is kept", () => {
    const { log, written } = sink();
    formatLog(log, "json", 3)("Stopping on SIGTERM: 2 connections draining for up to 5 s (SIGTERM again stops at once)", "notice", serveEvent("stopping", "info", {
      signal: "SIGTERM",
      connections: 2,
      grace: 5,
      left: undefined,
    }));
    const [[line, level]] = written as [Written];
    expect(level).toBe("notice");
    expect(line).not.toContain("\n");
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed.time).toMatch(ISO);
    expect({ ...parsed, time: "T" }).toEqual({
      time: "T",
      level: "info",
      event: "stopping",
      worker: 3,
      message: "Stopping on SIGTERM: 2 connections draining for up to 5 s (SIGTERM again stops at once)",
      signal: "SIGTERM",
      connections: 2,
      grace: 5,
    });
    expect(Object.keys(parsed).slice(0, 5)).toEqual(["time", "level", "event", "worker", "message"]);
  });

  test("json: an event about a worker names that worker, whoever logs it", () => {
    const { log, written } = sink();
    formatLog(log, "json")("Worker 2 (pid 7) exited (SIGKILL); restarting in 0.1 s", "notice", serveEvent("worker_exited", "warn", { pid: 7, signal: "SIGKILL", restartIn: 0.1 }, 2));
    expect(JSON.parse(written[0]![0])).toMatchObject({ level: "warn", event: "worker_exited", worker: 2, pid: 7, signal: "SIGKILL", restartIn: 0.1 });
  });

  test("a port's lines become notice lines with their events", () => {
    const { log, written } = sink();
    coreLog(formatLog(log, "json", 1))("Refused 1 connection: 1 open, the most allowed (1 refused in all)", {
      event: "connection_refused",
      level: "warn",
      endpoint: "127.0.0.1:8000",
      peer: "127.0.0.1:40000",
      fields: { limit: 1, count: 1, total: 1 },
    });
    const [[line, level]] = written as [Written];
    expect(level).toBe("notice");
    expect(JSON.parse(line)).toMatchObject({ event: "connection_refused", endpoint: "127.0.0.1:8000", peer: "127.0.0.1:40000", worker: 1, limit: 1, count: 1, total: 1 });
  });

  test("human: a worker's line is passed on prefixed with its number and pid", () => {
    const { log, written } = sink();
    forwardWorkerLine(log, "human", 2, 99, "Refused 1 connection: 1 open, the most allowed (1 refused in all)", "notice");
    expect(written).toEqual([["worker 2 (pid 99): Refused 1 connection: 1 open, the most allowed (1 refused in all)", "notice", undefined]]);
  });

  test("json: a worker's own JSON line is passed on byte for byte; one without a worker gets it; any other line is a worker_output event", () => {
    const { log, written } = sink();
    const own = '{"time":"2026-01-02T03:04:05.006Z","level":"warn","event":"connection_refused","endpoint":"127.0.0.1:8000","worker":2,"message":"Refused","limit":1}';
    forwardWorkerLine(log, "json", 2, 99, own, "notice");
    const bare = '{"time":"2026-01-02T03:04:05.006Z","level":"error","event":"protocol_error","endpoint":"127.0.0.1:8000","peer":"127.0.0.1:1","message":"boom","error":"x"}';
    forwardWorkerLine(log, "json", 2, 99, bare, "notice");
    forwardWorkerLine(log, "json", 2, 99, "hello from the module", "info");
    forwardWorkerLine(log, "json", 2, 99, "(node:99) Warning: something", "notice");
    forwardWorkerLine(log, "json", 2, 99, '{"not":"an event"}', "info");
    expect(written[0]).toEqual([own, "notice", { event: "connection_refused", level: "warn", worker: 2 }]);
    expect(written[1]![0]).toBe(
      '{"time":"2026-01-02T03:04:05.006Z","level":"error","event":"protocol_error","endpoint":"127.0.0.1:8000","peer":"127.0.0.1:1","worker":2,"message":"boom","error":"x"}',
    );
    const rest = written.slice(2).map(([line, level]) => ({ ...JSON.parse(line), time: "T", stream: level }));
    expect(rest).toEqual([
      { time: "T", level: "info", event: "worker_output", worker: 2, message: "hello from the module", pid: 99, stream: "info" },
      { time: "T", level: "warn", event: "worker_output", worker: 2, message: "(node:99) Warning: something", pid: 99, stream: "notice" },
      { time: "T", level: "info", event: "worker_output", worker: 2, message: '{"not":"an event"}', pid: 99, stream: "info" },
    ]);
  });

  test("the words of a worker's line: a JSON line's message, else the line", () => {
    expect(messageOf('{"time":"t","event":"serve_failed","message":"Cannot listen on 127.0.0.1:1: address already in use"}')).toBe(
      "Cannot listen on 127.0.0.1:1: address already in use",
    );
    expect(messageOf("twine-serve: Cannot listen")).toBe("twine-serve: Cannot listen");
    expect(messageOf("{not json")).toBe("{not json");
  });

  test("the start line's and the summary's events carry their data as fields", () => {
    const listeners: Listener[] = [
      { kind: "stream", type: "tcp", where: "127.0.0.1:8000", endpoint: "tcp:8000:interface=127.0.0.1", port: 8000, adapter: "node:net" },
      { kind: "stream", type: "unix", where: "unix:/tmp/s.sock", endpoint: "unix:/tmp/s.sock:mode=666", port: 0, adapter: "node:net" },
      { kind: "datagram", type: "udp", where: "UDP 127.0.0.1:7", endpoint: "udp:7:interface=127.0.0.1", port: 7, adapter: "node:dgram" },
    ];
    expect(listeningEvent("Echo server", listeners, "node 26.10.0", 2)).toEqual({
      event: "listening",
      level: "info",
      fields: {
        name: "Echo server",
        addresses: ["127.0.0.1:8000", "unix:/tmp/s.sock", "UDP 127.0.0.1:7"],
        runtime: "node 26.10.0",
        adapter: "node:net",
        udpAdapter: "node:dgram",
        workers: 2,
      },
    });
    expect(stoppedEvent("SIGTERM", { connections: 20, bytesEchoed: 300 }, [{ connections: 12, bytesEchoed: 100 }, { connections: 8 }])).toEqual({
      event: "stopped",
      level: "info",
      fields: { reason: "SIGTERM", connections: 20, bytesEchoed: 300, workers: 2, workerConnections: [12, 8] },
    });
    expect(stoppedEvent(undefined, { connections: 1 })).toEqual({ event: "stopped", level: "info", fields: { connections: 1 } });
  });
});
