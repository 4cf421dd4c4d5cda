/**
 * A tiny HTTP/1.1 server for `GET /metrics` and `GET /healthz`, built on twine's own
 * core: `listenEndpoint(new MetricsHttpFactory({ metrics, healthy }), "tcp:9464")`.
 * One request per connection (`Connection: close`), a bounded request head, and a
 * one-line status for anything else, so that a scraper, a load balancer's health check
 * or a curious `curl` all get a plain answer and a stray client cannot hold it.
 *
 * @module
 */
import { LineReceiver } from "../../src/framing/line_receiver.ts";
import type { Address } from "../../src/transport/address.ts";
import type { Reason } from "../../src/transport/errors.ts";
import { Factory } from "../../src/transport/factory.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";

/** Options of {@link MetricsHttpFactory}. */
export interface MetricsHttpOptions {
  /**
   * The body of `GET /metrics`: the exposition text, e.g. `renderPrometheus(sumEndpointMetrics(...))`.
   * A promise is awaited (a supervisor asks its workers first); one that rejects answers 500.
   */
  metrics: () => string | Promise<string>;
  /**
   * Whether the server accepts connections (`GET /healthz` answers 200) or drains (503).
   * @default always true
   */
  healthy?: () => boolean;
  /**
   * How long a client may take to send its request head, in milliseconds; then it gets 408.
   * @default 10000
   */
  requestTimeout?: number;
  /**
   * The longest request head, in bytes (request line and headers); past it the answer is
   * 414 (a request line that long) or 431 (headers).
   * @default 8192
   */
  maxRequestBytes?: number;
  /**
   * The clock for the `Date` header; tests pass a fixed one.
   * @default () => new Date()
   */
  now?: () => Date;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([^ ]+) ([^ ]+) (HTTP\/[0-9]\.[0-9])$/;
const HEADER = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;
const ALLOW = "GET, HEAD";
const decoder = new TextDecoder("latin1");

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/**
 * One HTTP/1.1 exchange: reads the request head line by line, answers `GET` (or `HEAD`)
 * `/metrics` and `/healthz`, 404 for other paths, 405 for other methods, 400 for a
 * malformed request, then closes. The body of a request, if any, is ignored.
 */
export class MetricsHttpProtocol extends LineReceiver {
  // Bare LF ends a line too (RFC 9112 section 2.2); a CR before it is stripped.
  override delimiter = "\n";
  readonly #options: MetricsHttpOptions;
  #method: string | undefined;
  #target = "";
  #version = "";
  #hosts = 0;
  #headBytes = 0;
  #answered = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** @param options Where the metrics and the health come from, and the request limits. */
  constructor(options: MetricsHttpOptions) {
    super();
    this.#options = options;
    this.maxLength = options.maxRequestBytes ?? 8192;
  }

  override connectionMade(): void {
    this.#timer = setTimeout(() => this.#respond(408, "The request took too long\n"), this.#options.requestTimeout ?? 10_000);
  }

  override dataReceived(data: Uint8Array): void {
    // Answered: what else the client sends (a body, more requests) is not read into memory.
    if (!this.#answered) super.dataReceived(data);
  }

  override lineReceived(bytes: Uint8Array): void {
    if (this.#answered) return;
    this.#headBytes += bytes.length + 1;
    if (this.#headBytes > this.maxLength) {
      this.#tooLong();
      return;
    }
    const line = decoder.decode(bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes);
    if (this.#method === undefined) {
      // An empty line before the request line is to be ignored (RFC 9112 section 2.2).
      if (line !== "") this.#requestLine(line);
      return;
    }
    if (line === "") {
      void this.#answer();
      return;
    }
    const header = HEADER.exec(line);
    if (header === null) {
      this.#respond(400, "Malformed header line\n");
      return;
    }
    if (header[1]!.toLowerCase() === "host") this.#hosts++;
  }

  override lineLengthExceeded(_line: Uint8Array): void {
    this.#tooLong();
  }

  override connectionLost(_reason: Reason): void {
    clearTimeout(this.#timer);
  }

  #tooLong(): void {
    if (this.#method === undefined) this.#respond(414, "Request line too long\n");
    else this.#respond(431, "Request head too long\n");
  }

  #requestLine(line: string): void {
    const m = REQUEST_LINE.exec(line);
    if (m === null || !TOKEN.test(m[1]!)) {
      this.#respond(400, "Malformed request line\n");
      return;
    }
    [, this.#method, this.#target, this.#version] = m as unknown as [string, string, string, string];
    if (this.#version !== "HTTP/1.1" && this.#version !== "HTTP/1.0") this.#respond(505, "Only HTTP/1.0 and HTTP/1.1\n");
  }

  async #answer(): Promise<void> {
    // RFC 9112 section 3.2: exactly one Host header in an HTTP/1.1 request.
    if (this.#version === "HTTP/1.1" && this.#hosts !== 1) return this.#respond(400, "Missing or repeated Host header\n");
    if (!this.#target.startsWith("/")) return this.#respond(400, "Malformed request target\n");
    const path = this.#target.split("?", 1)[0];
    if (path !== "/metrics" && path !== "/healthz") return this.#respond(404, "Not found: try /metrics or /healthz\n");
    if (this.#method !== "GET" && this.#method !== "HEAD") return this.#respond(405, `Method not allowed: use ${ALLOW}\n`);
    if (path === "/healthz") {
      const healthy = this.#options.healthy?.() ?? true;
      return this.#respond(healthy ? 200 : 503, healthy ? "ok\n" : "draining\n");
    }
    const failed = (error: unknown) => {
      this.#answered = false;
      this.#respond(500, `Cannot collect metrics: ${String((error as Error)?.message ?? error).split("\n")[0]}\n`);
    };
    let body: string | Promise<string>;
    try {
      body = this.#options.metrics();
    } catch (error) {
      return failed(error);
    }
    if (typeof body === "string") return this.#respond(200, body, PROMETHEUS_CONTENT_TYPE);
    // Answered from now on, though the text may take a while: nothing more is parsed meanwhile.
    this.#answered = true;
    clearTimeout(this.#timer);
    try {
      body = await body;
    } catch (error) {
      return failed(error);
    }
    this.#answered = false;
    this.#respond(200, body, PROMETHEUS_CONTENT_TYPE);
  }

  #respond(status: number, body: string, contentType = "text/plain; charset=utf-8"): void {
    if (this.#answered || this.transport.disconnecting) return;
    this.#answered = true;
    clearTimeout(this.#timer);
    const payload = new TextEncoder().encode(body);
    const head = [
      `HTTP/1.1 ${status} ${REASONS[status]}`,
      `Date: ${(this.#options.now?.() ?? new Date()).toUTCString()}`,
      `Content-Type: ${contentType}`,
      `Content-Length: ${payload.length}`,
      ...(status === 405 ? [`Allow: ${ALLOW}`] : []),
      "Connection: close",
      "",
      "",
    ].join("\r\n");
    this.clearLineBuffer();
    this.transport.write(head);
    if (this.#method !== "HEAD") this.transport.write(payload);
    this.transport.loseConnection();
  }
}

/**
 * Builds a {@link MetricsHttpProtocol} per connection: the factory to listen with for
 * `--metrics ENDPOINT`. Give the listener an `idleTimeout` too, so that a client that never
 * reads its answer is cut.
 *
 * @example
 * ```ts
 * import { MetricsHttpFactory } from "./metrics_http.ts";
 * import { renderPrometheus } from "./prometheus.ts";
 * import { listenEndpoint } from "../../adapters/mod.ts";
 * const served = await listenEndpoint(new MetricsHttpFactory({ metrics: () => renderPrometheus([]) }), "tcp:0");
 * const r = await fetch(`http://127.0.0.1:${served.address.port}/healthz`);
 * r.status; // 200
 * await served.close();
 * ```
 */
export class MetricsHttpFactory extends Factory<MetricsHttpProtocol> {
  readonly #options: MetricsHttpOptions;

  /**
   * @param options Where the metrics and the health come from, and the request limits.
   * @throws {TypeError} If `metrics` is not a function.
   */
  constructor(options: MetricsHttpOptions) {
    super();
    if (typeof options?.metrics !== "function") throw new TypeError("Cannot serve metrics: options.metrics must be a function");
    this.#options = options;
  }

  override buildProtocol(_addr: Address): MetricsHttpProtocol {
    const protocol = new MetricsHttpProtocol(this.#options);
    protocol.factory = this;
    return protocol;
  }
}
