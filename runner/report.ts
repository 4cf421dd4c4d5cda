/**
 * What a running server says: where its lines go, its start line and its one summary.
 *
 * @module
 */
import { type Counts, type Listener, plural } from "./service.ts";

/**
 * How much a line matters: `info` is what a script reads (the start line, the summary: stdout),
 * `notice` what an operator reads (restarts, "Stopping on SIGTERM": stderr), `error` a failure,
 * which a command prefixes with its name.
 */
export type LogLevel = "info" | "notice" | "error";

/** Where the runner's lines go. */
export type ServeLog = (line: string, level: LogLevel) => void;

/**
 * The default {@link ServeLog}: `info` to stdout, the rest to stderr.
 *
 * @param line The line.
 * @param level How much it matters.
 */
export function consoleLog(line: string, level: LogLevel): void {
  if (level === "info") console.log(line);
  else console.error(line);
}

/** What a server served, once stopped: the one summary. */
export interface Summary {
  /** What stopped it: `SIGTERM`, `SIGINT`, the reason given to `stop()`, or undefined. */
  readonly reason: string | undefined;
  /** The exit status a command should end with: 0 after a drain, 1 if it could not go on (a lost listener, workers that kept dying). */
  readonly code: number;
  /** What every service counted, summed over workers: `connections`, and whatever the services add. */
  readonly counts: Counts;
  /** Each worker's counts, in the order they drained; empty without workers. */
  readonly workers: readonly Counts[];
  /** The line printed, if one was: `Stopped on SIGTERM: served 3 connections`. */
  readonly line: string | undefined;
}

/** What one process says about itself when asked: `status` over the control channel. */
export interface ProcessStatus {
  /** The worker's number, or 0 for a server without workers. */
  readonly worker: number;
  /** Its process id. */
  readonly pid: number;
  /** Connections open now. */
  readonly connections: number;
  /** What it has counted so far. */
  readonly counts: Counts;
}

/** Where listeners are, in the start line's words: plain TCP over IPv4 first, because scripts read the first one. */
export function describeListeners(listeners: readonly Listener[]): string {
  const rank = ["tcp", "tcp6", "ssl", "unix"];
  const stream = listeners.filter((l) => l.kind === "stream").sort((a, b) => rank.indexOf(a.type) - rank.indexOf(b.type));
  const datagram = listeners.filter((l) => l.kind === "datagram");
  return [stream.map((l) => l.where).join(", "), datagram.map((l) => l.where).join(", ")].filter((part) => part !== "").join(" and ");
}

/**
 * The start line: `Echo server listening on 127.0.0.1:8000, unix:/tmp/s.sock (node 26.10.0, adapter node:net, 2 workers)`.
 *
 * @param name What listens.
 * @param listeners Where.
 * @param runtime The runtime's name and version.
 * @param workers How many workers, if more than one process serves.
 * @returns The line.
 */
export function startLine(name: string, listeners: readonly Listener[], runtime: string, workers?: number): string {
  const stream = listeners.find((l) => l.kind === "stream");
  const datagram = listeners.find((l) => l.kind === "datagram");
  const details = [
    runtime,
    ...(stream === undefined ? [] : [`adapter ${stream.adapter}`]),
    ...(datagram === undefined ? [] : [`UDP adapter ${datagram.adapter}`]),
    ...(workers === undefined ? [] : [plural(workers, "worker")]),
  ];
  return `${name} listening on ${describeListeners(listeners)} (${details.join(", ")})`;
}

/**
 * The summary line.
 *
 * @param reason What stopped it, if anything did.
 * @param served What the root service says it served.
 * @returns `Stopped on SIGTERM: served 3 connections`, or `Stopped: …` without a reason.
 */
export function stoppedLine(reason: string | undefined, served: string): string {
  return `Stopped${reason === undefined ? "" : ` on ${reason}`}: ${served}`;
}
