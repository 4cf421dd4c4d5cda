import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, describe, expect, test, vi } from "vitest";
import { listenEndpoint } from "../adapters/mod.ts";
import { MemoryTransport } from "../src/mod.ts";
import { MetricsHttpFactory, type MetricsHttpOptions, MetricsHttpProtocol } from "../runner/metrics/metrics_http.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "../runner/metrics/prometheus.ts";
import { chunkSizes, feed } from "./helpers/chunks.ts";

const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
const DATE_LINE = "Date: Fri, 02 Jan 2026 03:04:05 GMT";
const BODY = renderPrometheus([{ endpoint: "udp:7", udp: { datagramsReceived: 1, bytesReceived: 2, datagramsSent: 1, bytesSent: 2, sendDrops: 0 } }]);

function response(status: string, type: string, body: string, extra: string[] = []): string {
  const length = new TextEncoder().encode(body).length;
  return [`HTTP/1.1 ${status}`, DATE_LINE, `Content-Type: ${type}`, `Content-Length: ${length}`, ...extra, "Connection: close", "", body].join("\r\n");
}

const TEXT = "text/plain; charset=utf-8";

function serve(options: Partial<MetricsHttpOptions> = {}): MemoryTransport {
  const t = new MemoryTransport();
  t.connect(new MetricsHttpProtocol({ metrics: () => BODY, now: () => DATE, ...options }));
  return t;
}

/** Lets a promise-returning metrics callback settle. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  vi.useRealTimers();
});

describe("MetricsHttpProtocol on a memory transport", () => {
  const cases: [name: string, request: string, expected: string][] = [
    ["GET /metrics", "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", response("200 OK", PROMETHEUS_CONTENT_TYPE, BODY)],
    ["GET /metrics with a query and bare LF", "GET /metrics?name[]=x HTTP/1.1\nHost: x\n\n", response("200 OK", PROMETHEUS_CONTENT_TYPE, BODY)],
    ["HTTP/1.0 without Host", "GET /metrics HTTP/1.0\r\n\r\n", response("200 OK", PROMETHEUS_CONTENT_TYPE, BODY)],
    ["HEAD /metrics", "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", response("200 OK", PROMETHEUS_CONTENT_TYPE, BODY).slice(0, -BODY.length)],
    ["GET /healthz", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", response("200 OK", TEXT, "ok\n")],
    ["an unknown path", "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n", response("404 Not Found", TEXT, "Not found: try /metrics or /healthz\n")],
    [
      "POST /metrics",
      "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
      response("405 Method Not Allowed", TEXT, "Method not allowed: use GET, HEAD\n", ["Allow: GET, HEAD"]),
    ],
    ["a garbled request line", "GET /metrics\r\n\r\n", response("400 Bad Request", TEXT, "Malformed request line\n")],
    ["a header without a colon", "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", response("400 Bad Request", TEXT, "Malformed header line\n")],
    ["HTTP/1.1 without Host", "GET /metrics HTTP/1.1\r\n\r\n", response("400 Bad Request", TEXT, "Missing or repeated Host header\n")],
    ["an absolute target", "GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n", response("400 Bad Request", TEXT, "Malformed request target\n")],
    ["HTTP/2.0", "GET /metrics HTTP/2.0\r\n\r\n", response("505 HTTP Version Not Supported", TEXT, "Only HTTP/1.0 and HTTP/1.1\n")],
    ["TLS on the plain port", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", response("400 Bad Request", TEXT, "Malformed request line\n")],
  ];

  test.each(cases)("answers %s the same in every chunking, then closes", (_name, request, expected) => {
    for (const size of chunkSizes(request.length)) {
      const t = serve();
      feed(t, request, size);
      expect(t.text(), `chunks of ${size}`).toBe(expected);
      expect(t.writeShut, `chunks of ${size}`).toBe(true);
    }
  });

  test("a draining server answers /healthz with 503", () => {
    const t = serve({ healthy: () => false });
    t.receive("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(t.text()).toBe(response("503 Service Unavailable", TEXT, "draining\n"));
  });

  test("a request head past the limit gets 414 in the request line and 431 in the headers, at once", () => {
    const long = serve({ maxRequestBytes: 64 });
    long.receive(`GET /${"x".repeat(100)}`);
    expect(long.text()).toBe(response("414 URI Too Long", TEXT, "Request line too long\n"));
    const many = serve({ maxRequestBytes: 64 });
    many.receive("GET /metrics HTTP/1.1\r\nHost: x\r\n");
    for (let i = 0; i < 10; i++) many.receive(`X-${i}: y\r\n`);
    expect(many.text()).toBe(response("431 Request Header Fields Too Large", TEXT, "Request head too long\n"));
  });

  test("a client that never finishes its request gets 408 after the request timeout", () => {
    vi.useFakeTimers();
    const t = serve({ requestTimeout: 500 });
    t.receive("GET /metr");
    vi.advanceTimersByTime(499);
    expect(t.text()).toBe("");
    vi.advanceTimersByTime(1);
    expect(t.text()).toBe(response("408 Request Timeout", TEXT, "The request took too long\n"));
  });

  test("an asynchronous metrics callback is awaited, and one that rejects answers 500", async () => {
    const ok = serve({ metrics: () => Promise.resolve(BODY) });
    ok.receive("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await settle();
    // One request per connection: the pipelined second one is not answered.
    expect(ok.text()).toBe(response("200 OK", PROMETHEUS_CONTENT_TYPE, BODY));
    const failing = serve({ metrics: () => Promise.reject(new Error("worker 2 did not answer")) });
    failing.receive("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    await settle();
    expect(failing.text()).toBe(response("500 Internal Server Error", TEXT, "Cannot collect metrics: worker 2 did not answer\n"));
  });

  test("a factory needs a metrics callback", () => {
    expect(() => new MetricsHttpFactory({} as MetricsHttpOptions)).toThrow(TypeError);
  });
});

describe("MetricsHttpFactory over a real socket", () => {
  test("fetch and curl get /metrics, /healthz and a 404 from a listener on tcp:0", async () => {
    let healthy = true;
    const served = await listenEndpoint(
      new MetricsHttpFactory({ metrics: () => BODY, healthy: () => healthy }),
      "tcp:0:interface=127.0.0.1",
      { idleTimeout: 5000 },
    );
    try {
      const base = `http://127.0.0.1:${served.address.port}`;
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
      expect(await metrics.text()).toBe(BODY);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      healthy = false;
      const draining = await fetch(`${base}/healthz`);
      expect([draining.status, await draining.text()]).toEqual([503, "draining\n"]);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: "POST", body: "x" })).status).toBe(405);
      const curl = await promisify(execFile)("curl", ["-sS", "-i", `${base}/metrics`]).catch((error: Error) => error);
      if (curl instanceof Error && /ENOENT/.test(curl.message)) return;
      const out = (curl as { stdout: string }).stdout;
      expect(out.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
      expect(out.endsWith(`\r\n\r\n${BODY}`)).toBe(true);
    } finally {
      await served.close({ grace: 0 });
    }
  });
});
