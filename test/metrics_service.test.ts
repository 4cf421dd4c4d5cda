// serve() with a metrics endpoint and JSON lines, as a library: App.metrics(), GET /metrics, /healthz through a drain.
import net from "node:net";
import { describe, expect, test } from "vitest";
import { type LogLevel, metricsService, serve, type ServeLogEvent } from "../runner/mod.ts";
import { EchoFactory, ListenError, type PortMetrics } from "../src/mod.ts";
import { connect, echo } from "./helpers/client.ts";
import { finish, healthz, scrape, serveOrRefuse } from "./helpers/metrics.ts";

const ZERO: PortMetrics = {
  connectionsAccepted: 0,
  connectionsRefused: 0,
  connectionsOpen: 0,
  bytesRead: 0,
  bytesWritten: 0,
  acceptFailuresPeerGone: 0,
  acceptFailuresResources: 0,
  acceptFailuresOther: 0,
  tlsHandshakesCompleted: 0,
  tlsHandshakesFailed: 0,
  proxyHeadersRejected: 0,
  connectionsClosedIdle: 0,
  connectionsClosedProtocolError: 0,
};

function recorder() {
  const lines: [string, LogLevel, ServeLogEvent | undefined][] = [];
  return { lines, log: (line: string, level: LogLevel, event?: ServeLogEvent) => lines.push([line, level, event]) };
}

const metricsPortOf = (lines: [string, ...unknown[]][]) =>
  Number(/Serving metrics on 127\.0\.0\.1:(\d+): GET \/metrics, GET \/healthz/.exec(lines.map(([l]) => l).join("\n"))?.[1]);

describe("serve() with metrics", () => {
  test("App.metrics() and GET /metrics count exactly; /healthz is 200 while it accepts, 503 while it drains; the endpoint closes once stopped", async () => {
    const { lines, log } = recorder();
    const app = await serve(new EchoFactory(), { listen: ["tcp:0"], metrics: "tcp:0", maxConnections: 1, grace: 10, signals: false, log });
    const metricsPort = metricsPortOf(lines);
    expect(lines.map(([l]) => l)).toEqual([
      expect.stringMatching(/^Server listening on 127\.0\.0\.1:\d+ /),
      `Serving metrics on 127.0.0.1:${metricsPort}: GET /metrics, GET /healthz`,
    ]);
    const port = app.ports[0]!;
    expect(await healthz(metricsPort)).toBe(200);
    const held = await serveOrRefuse(port, "hello");
    expect(held.served).toBe(true);
    expect(await serveOrRefuse(port, "abc")).toEqual({ served: false });
    // The client is done with the refused connection before the server has read its FIN: wait for that.
    await expect.poll(async () => (await app.metrics())[0]!.port!.connectionsOpen).toBe(1);
    const endpoint = `tcp:127.0.0.1:${port}`;
    expect(await app.metrics()).toEqual([{ endpoint, port: { ...ZERO, connectionsAccepted: 2, connectionsRefused: 1, connectionsOpen: 1, bytesRead: 5, bytesWritten: 5 } }]);
    const samples = await scrape(metricsPort);
    expect(samples.get(`twine_connections_accepted_total{endpoint="${endpoint}"}`)).toBe(2);
    expect(samples.get(`twine_connections_refused_total{endpoint="${endpoint}"}`)).toBe(1);
    expect(samples.get(`twine_connections_open{endpoint="${endpoint}"}`)).toBe(1);
    // A refused connection is closing before it reads: what it sent is discarded, not counted.
    expect(samples.get(`twine_read_bytes_total{endpoint="${endpoint}"}`)).toBe(5);
    expect(samples.get(`twine_written_bytes_total{endpoint="${endpoint}"}`)).toBe(5);
    // The held connection keeps the drain going: /healthz says so, /metrics still answers.
    const stopping = app.stop("test");
    expect(app.draining).toBe(true);
    expect(await healthz(metricsPort)).toBe(503);
    expect((await scrape(metricsPort)).get(`twine_connections_open{endpoint="${endpoint}"}`)).toBe(1);
    if (held.served) await finish(held.sock);
    const summary = await stopping;
    expect(summary.counts.connections).toBe(1);
    await expect(healthz(metricsPort)).rejects.toThrow();
  });

  test("logFormat json: the start line, the metrics line, a refusal and the summary are JSON lines with their fields", async () => {
    const { lines, log } = recorder();
    const app = await serve(new EchoFactory(), { listen: ["tcp:0"], metrics: "tcp:0", maxConnections: 1, signals: false, log, logFormat: "json" });
    const port = app.ports[0]!;
    const held = await serveOrRefuse(port);
    expect(await serveOrRefuse(port)).toEqual({ served: false });
    if (held.served) await finish(held.sock);
    await app.stop("test");
    const parsed = lines.map(([line, level]) => ({ ...JSON.parse(line), stream: level }) as Record<string, unknown>);
    for (const p of parsed) expect(p.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const metricsAddress = parsed[1]!.endpoint as string;
    expect(parsed.map(({ time: _, ...rest }) => rest)).toEqual([
      {
        level: "info",
        event: "listening",
        message: expect.stringMatching(new RegExp(`^Server listening on 127\\.0\\.0\\.1:${port} \\(`)),
        name: "Server",
        addresses: [`127.0.0.1:${port}`],
        runtime: expect.stringMatching(/^(node|bun|deno) /),
        adapter: app.listeners[0]!.adapter,
        stream: "info",
      },
      {
        level: "info",
        event: "metrics_listening",
        endpoint: metricsAddress,
        message: `Serving metrics on ${metricsAddress}: GET /metrics, GET /healthz`,
        stream: "info",
      },
      {
        level: "warn",
        event: "connection_refused",
        endpoint: `127.0.0.1:${port}`,
        peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        message: "Refused 1 connection: 1 open, the most allowed (1 refused in all)",
        limit: 1,
        count: 1,
        total: 1,
        stream: "notice",
      },
      { level: "info", event: "stopped", message: "Stopped on test: served 1 connection", reason: "test", connections: 1, stream: "info" },
    ]);
  });

  test("a metrics endpoint that cannot be bound rejects with ListenError, and nothing is left listening", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const free = net.createServer();
      await new Promise<void>((resolve) => free.listen({ host: "127.0.0.1", port: 0 }, resolve));
      const port = (free.address() as net.AddressInfo).port;
      await new Promise((resolve) => free.close(resolve));
      const error = await serve(new EchoFactory(), { listen: [`tcp:${port}`], metrics: `tcp:${taken}`, signals: false, log: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ListenError);
      expect((error as ListenError).message).toBe(`Cannot listen on 127.0.0.1:${taken}: address already in use`);
      // The server's own port was never bound: it is free.
      await expect(connect(port)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test("a server endpoint that cannot be bound closes the metrics endpoint again", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const probe = metricsService("tcp:0", { collect: () => [], healthy: () => true });
      await probe.startService();
      const metricsPort = probe.port!.address.port;
      await probe.stopService({ grace: 0 });
      await expect(serve(new EchoFactory(), { listen: [`tcp:${taken}`], metrics: `tcp:${metricsPort}`, signals: false, log: false })).rejects.toThrow(ListenError);
      await expect(connect(metricsPort)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test("metrics on udp:, a malformed metrics endpoint or a log format other than human or json is refused at once", async () => {
    await expect(serve(new EchoFactory(), { listen: ["tcp:0"], metrics: "udp:0", log: false })).rejects.toThrow(
      "Cannot serve metrics on 'udp:0:interface=127.0.0.1': HTTP needs a stream endpoint, not udp:",
    );
    await expect(serve(new EchoFactory(), { listen: ["tcp:0"], metrics: "tcp:x", log: false })).rejects.toThrow(RangeError);
    await expect(serve(new EchoFactory(), { listen: ["tcp:0"], metrics: 9464 as never, log: false })).rejects.toThrow(TypeError);
    await expect(serve(new EchoFactory(), { listen: ["tcp:0"], logFormat: "xml" as never, log: false })).rejects.toThrow(
      "Cannot serve with logFormat 'xml': expected human or json",
    );
  });

  test("without the option there is no metrics line, and App.metrics() still counts", async () => {
    const { lines, log } = recorder();
    const app = await serve(new EchoFactory(), { listen: ["tcp:0"], signals: false, log });
    const payload = new Uint8Array(300).fill(7);
    expect((await echo(app.ports[0]!, payload)).received.length).toBe(300);
    await expect.poll(async () => (await app.metrics())[0]!.port!.connectionsOpen).toBe(0);
    expect((await app.metrics())[0]!.port).toEqual({ ...ZERO, connectionsAccepted: 1, bytesRead: 300, bytesWritten: 300 });
    await app.stop();
    expect(lines.map(([l]) => l)).toEqual([expect.stringMatching(/^Server listening on /), "Stopped: served 1 connection"]);
  });
});
