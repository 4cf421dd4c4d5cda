/**
 * What a listening port logs, as data: every line the core and the adapters log comes
 * with a {@link LogEvent}, so that a runner can write JSON lines instead of text without
 * parsing the text.
 *
 * @module
 */

/** How serious a logged event is. */
export type LogLevel = "info" | "warn" | "error";

/** A field value of a {@link LogEvent}: what JSON can hold without nesting. */
export type LogFieldValue = string | number | boolean;

/**
 * One logged event: its name, how serious it is, where it happened and what it carries.
 * The human line logged beside it says the same in words.
 *
 * @example
 * ```ts
 * import type { LogEvent } from "./log_event.ts";
 * const event: LogEvent = {
 *   event: "connection_refused",
 *   level: "warn",
 *   endpoint: "127.0.0.1:8000",
 *   fields: { limit: 100, count: 3, total: 12 },
 * };
 * ```
 */
export interface LogEvent {
  /** The event's name, in snake case: `connection_refused`, `accept_failed`, `tls_handshake_failed`, ... */
  readonly event: string;
  /** How serious it is. */
  readonly level: LogLevel;
  /** The listening address it happened on, as printed in the line (`127.0.0.1:8000`, `ssl:[::1]:8443`, `unix:/run/x.sock`). */
  readonly endpoint?: string;
  /** The peer's address, for an event about one connection or datagram. */
  readonly peer?: string;
  /**
   * What else the event carries. A rate-limited event carries `count` (events this line
   * stands for) and `total` (events so far).
   */
  readonly fields?: Readonly<Record<string, LogFieldValue>>;
}

/**
 * Where a port's lines go: the human line, and the same as a {@link LogEvent}. A function
 * that takes only the line, as before, goes on working.
 *
 * @param line One line of text, without a newline.
 * @param event The same, as data; every line the core logs has one.
 */
export type LogFunction = (line: string, event?: LogEvent) => void;

/**
 * The log used when none is given: the line to `console.error`.
 *
 * @param line The line.
 */
export function defaultLog(line: string): void {
  console.error(line);
}
