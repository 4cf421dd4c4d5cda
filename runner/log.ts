/**
 * The runner's log: every line the runner prints is an event with a name and fields, written
 * as the line itself (`human`, the default) or as one JSON object (`json`); a supervisor passes
 * its workers' lines on in the same form, tagged with the worker.
 *
 * | event | level | fields | the line |
 * | --- | --- | --- | --- |
 * | `listening` | info | `name`, `addresses`, `runtime`, `adapter`, `udpAdapter`, `workers` | `Echo server listening on …` |
 * | `metrics_listening` | info | (`endpoint`: where) | `Serving metrics on 127.0.0.1:9464: GET /metrics, GET /healthz` |
 * | `worker_started` | info | `pid` (and `worker`) | `Worker 1 started (pid 4242)` |
 * | `worker_exited` | warn | `pid`, `status` or `signal`, `restartIn` (seconds) | `Worker 1 (pid 4242) exited (SIGKILL); restarting in 0.1 s` |
 * | `worker_gave_up` | error | `times`, `status` or `signal` | `Worker 1 keeps dying (…); giving up` |
 * | `worker_output` | info, warn | `pid` | a line a worker printed that is not one of these events |
 * | `stopping` | info | `signal`, `connections` or `workers`, `grace` (seconds) | `Stopping on SIGTERM: …` |
 * | `stop_forced` | error | `signal` | `SIGTERM again, exiting now` |
 * | `stop_failed` | error | `error` | `Cannot stop cleanly: …` |
 * | `stopped` | info | `reason`, the counts (`connections`, `bytesEchoed`, …), `workers`, `workerConnections` | `Stopped on SIGTERM: …` |
 * | `join_failed` | error | `error` | a worker that cannot reach its supervisor |
 * | `reload_started` | info | `workers`, `generation` | `Reloading: starting 2 new workers` |
 * | `reload_done` | info | `workers`, `pids`, `replaced`, `generation` (or `endpoint` without workers) | `Reloaded: 2 workers (pids 4301, 4302) replaced 2` |
 * | `reload_failed` | error, warn | `pid`, `status` or `signal`, `error` (or `endpoint`, `adapter`) | `Reload failed: worker 1 exited (status 1) before listening: …` |
 * | `reload_ignored` | warn | `reason` | `Reload ignored: a reload is under way` |
 * | `reload_nothing` | info | | `SIGHUP: nothing to reload (…)` |
 * | `tcp_migrate_req` | warn | `value` | `net.ipv4.tcp_migrate_req is 0: …` |
 *
 * Besides these, every event a port logs (`connection_refused`, `tls_handshake_failed`, …).
 *
 * @module
 */
import type { LogFunction, LogLevel as EventLevel } from "../src/transport/log_event.ts";
import { formatJsonLogLine, type LogFormat, type ServeLogEvent, type ServeLogFieldValue } from "./log_format.ts";
import type { LogLevel, ServeLog } from "./report.ts";
import type { Counts, Listener } from "./service.ts";

/**
 * Makes an event, leaving out the fields that are undefined.
 *
 * @param name Its name, in snake case.
 * @param level How serious it is.
 * @param fields What it carries.
 * @param worker The worker it is about, if a supervisor logs it.
 * @returns The event.
 */
export function serveEvent(
  name: string,
  level: EventLevel,
  fields: Record<string, ServeLogFieldValue | undefined> = {},
  worker?: number,
): ServeLogEvent {
  const kept = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<string, ServeLogFieldValue>;
  return { event: name, level, ...(worker === undefined ? {} : { worker }), fields: kept };
}

/**
 * A {@link ServeLog} that writes each line in the given form into `sink`: the line as it is
 * (`sink` itself, so human output is what it always was), or its event as a JSON line.
 *
 * @param sink Where finished lines go.
 * @param format `human` or `json`.
 * @param worker This process's worker number, for the `worker` field of its JSON lines.
 * @returns The log.
 */
export function formatLog(sink: ServeLog, format: LogFormat, worker?: number): ServeLog {
  if (format === "human") return sink;
  return (line, level, event) => sink(formatJsonLogLine(line, event, { worker }), level, event);
}

/**
 * The `log` a port gets: its lines, with their events, as `notice` lines of the runner's log.
 *
 * @param log The runner's log, formatted.
 * @returns The port's log function.
 */
export function coreLog(log: ServeLog): LogFunction {
  return (line, event) => log(line, "notice", event);
}

interface JsonLine {
  readonly [key: string]: unknown;
}

function parseJsonLine(line: string): JsonLine | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonLine) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Passes one line a worker printed on to the supervisor's log. Human: `worker N (pid P): line`.
 * JSON: the worker's own event as it wrote it (with `worker` added if it lacks one), and any
 * other line (its program's `console.log`, its runtime's warnings) as a `worker_output` event.
 *
 * @param sink The supervisor's sink, unformatted.
 * @param format The form of the log.
 * @param slot The worker's number.
 * @param pid Its process id.
 * @param line The line, without its line feed.
 * @param level `info` for its stdout, `notice` for its stderr.
 */
export function forwardWorkerLine(sink: ServeLog, format: LogFormat, slot: number, pid: number | undefined, line: string, level: LogLevel): void {
  if (format === "human") {
    sink(`worker ${slot} (pid ${pid}): ${line}`, level);
    return;
  }
  const parsed = parseJsonLine(line);
  if (parsed !== undefined && typeof parsed.event === "string" && typeof parsed.time === "string") {
    const own: EventLevel = parsed.level === "warn" || parsed.level === "error" ? parsed.level : "info";
    const event = { event: parsed.event, level: own, worker: slot };
    if (parsed.worker !== undefined) {
      sink(line, level, event);
      return;
    }
    const { time, level: _, event: __, endpoint, peer, ...rest } = parsed;
    sink(JSON.stringify({ time, level: own, event: parsed.event, endpoint, peer, worker: slot, ...rest }), level, event);
    return;
  }
  const event = serveEvent("worker_output", level === "info" ? "info" : "warn", { pid }, slot);
  sink(formatJsonLogLine(line, event), level, event);
}

/**
 * The words of a line a worker printed: its `message` if it is a JSON line, else the line.
 *
 * @param line The line.
 * @returns What it says.
 */
export function messageOf(line: string): string {
  const message = parseJsonLine(line)?.message;
  return typeof message === "string" ? message : line;
}

/**
 * The start line's event: `listening`.
 *
 * @param name What listens.
 * @param listeners Where.
 * @param runtime The runtime's name and version.
 * @param workers How many workers, if more than one process serves.
 * @returns The event.
 */
export function listeningEvent(name: string, listeners: readonly Listener[], runtime: string, workers?: number): ServeLogEvent {
  return serveEvent("listening", "info", {
    name,
    addresses: listeners.map((l) => l.where),
    runtime,
    adapter: listeners.find((l) => l.kind === "stream")?.adapter,
    udpAdapter: listeners.find((l) => l.kind === "datagram")?.adapter,
    workers,
  });
}

/**
 * The summary's event: `stopped`, with the counts as fields.
 *
 * @param reason What stopped it.
 * @param counts What was served, summed over workers.
 * @param workers Each worker's counts, with workers.
 * @returns The event.
 */
export function stoppedEvent(reason: string | undefined, counts: Counts, workers?: readonly Counts[]): ServeLogEvent {
  return serveEvent("stopped", "info", {
    reason,
    ...counts,
    workers: workers?.length,
    workerConnections: workers?.map((c) => c.connections ?? 0),
  });
}
