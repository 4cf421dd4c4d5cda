/**
 * What a failed `accept()` means for a listener, and how often to say so.
 * The adapters feed every accept failure to {@link AcceptErrors}, which tells
 * them how long to wait before the next accept, counts each kind and keeps the log
 * to a line a second.
 *
 * @module
 */
import { defaultLog, type LogFunction } from "./log_event.ts";

/**
 * What an accept failure says:
 * - `peer`: that one connection was gone before it was accepted; take the next one at once.
 * - `resources`: the process or system is out of descriptors, buffers or memory; pause briefly.
 * - `other`: anything else; pause briefly too, so that a failing listener cannot spin.
 */
export type AcceptFailureKind = "peer" | "resources" | "other";

// Linux accept(2): "already-pending network errors on the new socket" come back from accept;
// ENOTCONN is what Deno reports when the peer reset the connection before getpeername.
const PEER_CODES = new Set([
  "ENOTCONN",
  "ECONNABORTED",
  "ECONNRESET",
  "EPROTO",
  "EPERM",
  "ENETDOWN",
  "ENOPROTOOPT",
  "EHOSTDOWN",
  "ENONET",
  "EHOSTUNREACH",
  "EOPNOTSUPP",
  "ENETUNREACH",
  "ETIMEDOUT",
]);
const RESOURCE_CODES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);
// Deno's error classes, for errors that carry no `code`.
const PEER_NAMES = new Set(["NotConnected", "ConnectionAborted", "ConnectionReset"]);
// Linux errno numbers, for errors that carry neither code nor a telling name: "… (os error 24)".
const ERRNO_CODES: Record<number, string> = {
  12: "ENOMEM",
  23: "ENFILE",
  24: "EMFILE",
  71: "EPROTO",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  107: "ENOTCONN",
};

/**
 * Classifies an accept failure by its `code` (Node, Deno), its name (Deno's error
 * classes) or the errno in its message.
 *
 * @param error What the runtime's accept threw or reported.
 * @returns `peer`, `resources` or `other`.
 * @example
 * ```ts
 * import { classifyAcceptError } from "./accept_errors.ts";
 * classifyAcceptError(Object.assign(new Error("accept EMFILE"), { code: "EMFILE" })); // "resources"
 * classifyAcceptError(new Error("Transport endpoint is not connected (os error 107)")); // "peer"
 * ```
 */
export function classifyAcceptError(error: unknown): AcceptFailureKind {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | null | undefined;
  const errno = /\(os error (\d+)\)/.exec(String(e?.message ?? ""))?.[1];
  const code = typeof e?.code === "string" ? e.code : ERRNO_CODES[Number(errno)];
  if (code !== undefined && RESOURCE_CODES.has(code)) return "resources";
  if (code !== undefined && PEER_CODES.has(code)) return "peer";
  if (PEER_NAMES.has(String(e?.name))) return "peer";
  return "other";
}

/** Options of {@link AcceptErrors}. */
export interface AcceptErrorsOptions {
  /** The listening address, as printed in log lines. */
  address: string;
  /**
   * Where the summaries go.
   * @default console.error
   */
  log?: LogFunction;
  /**
   * The first pause after a resource failure, in milliseconds; it doubles with each failure in a row.
   * @default 5
   */
  minPause?: number;
  /**
   * The longest pause, in milliseconds: descriptors freed are used within this.
   * @default 250
   */
  maxPause?: number;
}

const LOG_INTERVAL_MS = 1000;

interface Tally {
  /** Failures since the last line about this kind. */
  unlogged: number;
  total: number;
  /** The newest failure's message. */
  message: string;
}

/** Accept failures so far, by kind. */
export interface AcceptFailureCounts {
  /** The peer was gone before its connection was accepted: normal traffic, never logged. */
  readonly peer: number;
  /** Out of descriptors, buffers or memory. */
  readonly resources: number;
  /** Anything else. */
  readonly other: number;
}

type LoggedKind = Exclude<AcceptFailureKind, "peer">;

const TAILS: Record<LoggedKind, string> = {
  resources: "pausing accepts until descriptors or memory are free",
  other: "retrying after a pause",
};

/**
 * Counts accept failures, decides how long to wait before the next accept, and
 * logs at most one line a second per kind of failure. A peer gone before its accept
 * (a health check that connects and closes at once, a client that gave up) is normal
 * traffic: it never waits and is only counted, never logged. A resource failure logs
 * its first line at once.
 *
 * @example
 * ```ts
 * import { AcceptErrors } from "./accept_errors.ts";
 * const errors = new AcceptErrors({ address: "127.0.0.1:8000", log: () => {} });
 * errors.failed(Object.assign(new Error("accept EMFILE"), { code: "EMFILE" })); // 5: wait 5 ms
 * errors.accepted(); // back to no pause
 * errors.close();
 * ```
 */
export class AcceptErrors {
  readonly #address: string;
  readonly #log: LogFunction;
  readonly #minPause: number;
  readonly #maxPause: number;
  #pause = 0;
  #peers = 0;
  readonly #tallies: Record<LoggedKind, Tally> = {
    resources: { unlogged: 0, total: 0, message: "" },
    other: { unlogged: 0, total: 0, message: "" },
  };
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** @param options The address to name, the log, and the pauses. */
  constructor(options: AcceptErrorsOptions) {
    this.#address = options.address;
    this.#log = options.log ?? defaultLog;
    this.#minPause = options.minPause ?? 5;
    this.#maxPause = options.maxPause ?? 250;
  }

  /** Failures so far, of every kind. */
  get total(): number {
    return this.#peers + this.#tallies.resources.total + this.#tallies.other.total;
  }

  /** Failures so far, by kind. */
  get counts(): AcceptFailureCounts {
    return { peer: this.#peers, resources: this.#tallies.resources.total, other: this.#tallies.other.total };
  }

  /**
   * Counts one failure.
   *
   * @param error What the runtime's accept threw or reported.
   * @returns How long to wait before accepting again, in milliseconds; 0 for at once.
   */
  failed(error: unknown): number {
    const kind = classifyAcceptError(error);
    if (kind === "peer") {
      // Health checks that connect and close at once do this all day: it says nothing about the server.
      this.#peers++;
      return 0;
    }
    const tally = this.#tallies[kind];
    tally.unlogged++;
    tally.total++;
    tally.message = String((error as { message?: unknown } | null)?.message ?? error).split("\n")[0]!;
    if (this.#timer === undefined) {
      this.#flush(kind);
      this.#timer = setTimeout(() => this.#tick(), LOG_INTERVAL_MS);
    }
    this.#pause = this.#pause === 0 ? this.#minPause : Math.min(this.#pause * 2, this.#maxPause);
    return this.#pause;
  }

  /** Records a successful accept: the next failure pauses briefly again. */
  accepted(): void {
    this.#pause = 0;
  }

  /** Logs what is not logged yet and stops the timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const kind of ["resources", "other"] as const) this.#flush(kind);
  }

  #tick(): void {
    this.#timer = undefined;
    let logged = false;
    for (const kind of ["resources", "other"] as const) logged = this.#flush(kind) || logged;
    // Keep the window open while failures go on, so that a steady stream logs once a second, not twice.
    if (logged) this.#timer = setTimeout(() => this.#tick(), LOG_INTERVAL_MS);
  }

  #flush(kind: LoggedKind): boolean {
    const tally = this.#tallies[kind];
    if (tally.unlogged === 0) return false;
    const times = tally.unlogged === 1 ? "once" : `${tally.unlogged} times`;
    this.#log(`Accept failed ${times} on ${this.#address}: ${tally.message}; ${TAILS[kind]} (${tally.total} in all)`, {
      event: "accept_failed",
      level: kind === "resources" ? "warn" : "error",
      endpoint: this.#address,
      fields: { kind, error: tally.message, count: tally.unlogged, total: tally.total },
    });
    tally.unlogged = 0;
    return true;
  }
}
