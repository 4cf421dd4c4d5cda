/**
 * How a server's log lines are written: as they are (`--log-format human`, the default) or
 * as one JSON object per line (`--log-format json`) built from each line's `LogEvent`.
 *
 * @module
 */
import type { LogEvent, LogFieldValue, LogFunction } from "../src/transport/log_event.ts";

/** The two forms of log line. */
export type LogFormat = "human" | "json";

/** A field of a {@link ServeLogEvent}: a core field, or a flat list (the addresses of a start line). */
export type ServeLogFieldValue = LogFieldValue | readonly (string | number)[];

/**
 * What a runner logs as data: a core `LogEvent` (every port's event is one), or one of the
 * runner's own, which may name the worker it is about and carry lists.
 */
export interface ServeLogEvent extends Omit<LogEvent, "fields"> {
  /** The worker the event is about, when a supervisor logs it: the `worker` field, before the process's own. */
  readonly worker?: number;
  /** What else it carries. */
  readonly fields?: Readonly<Record<string, ServeLogFieldValue>>;
}

/** Options of {@link formatJsonLogLine} and {@link logTo}. */
export interface JsonLogOptions {
  /** The worker this process is, when there are several: the `worker` field. */
  worker?: number | string;
  /**
   * The clock for the `time` field; tests pass a fixed one.
   * @default () => new Date()
   */
  now?: () => Date;
}

// The fields every JSON line has, in this order; an event field of the same name is written with a "field_" prefix.
const RESERVED = new Set(["time", "level", "event", "endpoint", "peer", "worker", "message"]);

/**
 * Formats one log line as a JSON object on one line: `time` (ISO 8601), `level`, `event`,
 * `endpoint` and `peer` (when the event has them), `worker` (the event's, else the one given),
 * `message` (the human line) and the event's fields. A line logged without an event is an
 * `info` event named `message`.
 *
 * @param line The human line.
 * @param event The same as data.
 * @param options The worker, and the clock.
 * @returns The JSON text, without a line feed.
 * @example
 * ```ts
 * import { formatJsonLogLine } from "./log_format.ts";
 * formatJsonLogLine(
 *   "Refused 1 connection: 2 open, the most allowed (1 refused in all)",
 *   { event: "connection_refused", level: "warn", endpoint: "127.0.0.1:8000", fields: { limit: 2, count: 1, total: 1 } },
 *   { worker: 1, now: () => new Date(0) },
 * );
 * // {"time":"1970-01-01T00:00:00.000Z","level":"warn","event":"connection_refused","endpoint":"127.0.0.1:8000",
 * //  "worker":1,"message":"Refused 1 connection: ...","limit":2,"count":1,"total":1}
 * ```
 */
export function formatJsonLogLine(line: string, event: ServeLogEvent | undefined, options: JsonLogOptions = {}): string {
  const out: Record<string, unknown> = {
    time: (options.now?.() ?? new Date()).toISOString(),
    level: event?.level ?? "info",
    event: event?.event ?? "message",
  };
  if (event?.endpoint !== undefined) out.endpoint = event.endpoint;
  if (event?.peer !== undefined) out.peer = event.peer;
  const worker = event?.worker ?? options.worker;
  if (worker !== undefined) out.worker = worker;
  out.message = line;
  for (const [key, value] of Object.entries(event?.fields ?? {})) out[RESERVED.has(key) ? `field_${key}` : key] = value;
  return JSON.stringify(out);
}

/**
 * A `log` for `listen` that writes each line in the given form: the line itself, or
 * {@link formatJsonLogLine}'s JSON. The rate-limited lines keep their limit either way:
 * this only formats what the port decided to log.
 *
 * @param format `human` or `json`.
 * @param write Where each finished line goes, without a line feed (e.g. `(text) => console.error(text)`).
 * @param options For JSON: the worker, and the clock.
 * @returns The log function.
 * @throws {TypeError} For a format other than `human` or `json`.
 * @example
 * ```ts
 * import { logTo } from "./log_format.ts";
 * import { listen } from "../adapters/mod.ts";
 * import { EchoFactory } from "../src/mod.ts";
 * const port = await listen(new EchoFactory(), { port: 0, log: logTo("json", (text) => console.error(text)) });
 * await port.close();
 * ```
 */
export function logTo(format: LogFormat, write: (text: string) => void, options: JsonLogOptions = {}): LogFunction {
  if (format === "human") return (line) => write(line);
  if (format === "json") return (line, event) => write(formatJsonLogLine(line, event, options));
  throw new TypeError(`Cannot log in format '${String(format)}': expected human or json`);
}
