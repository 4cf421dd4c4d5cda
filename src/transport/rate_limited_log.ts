import type { LogEvent, LogFunction } from "./log_event.ts";

/** What a {@link RateLimitedLog} adds to each event it writes. */
export interface RateLimitedLogContext {
  /** The listening address, set on every event written. */
  endpoint?: string;
}

/**
 * A log for events that can come in floods (refused connections, failed handshakes,
 * bad PROXY headers): the first line goes out at once, then at most one line a
 * second, counting what it held back, so that a flood cannot flood the log too.
 * Each line carries the last event written, with `count` (events the line stands for)
 * and `total` among its fields.
 *
 * @example
 * ```ts
 * import { RateLimitedLog } from "./rate_limited_log.ts";
 * const log = new RateLimitedLog((line) => console.error(line));
 * for (let i = 0; i < 3; i++) log.write("Closed a connection: bad header");
 * // logs the first at once, and "Closed a connection: bad header (and 1 more in the last second)" a second later
 * log.stop();
 * ```
 */
export class RateLimitedLog {
  readonly #log: LogFunction;
  readonly #format: (line: string, held: number, total: number) => string;
  readonly #endpoint: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #held = 0;
  #total = 0;
  #last = "";
  #lastEvent: LogEvent | undefined;

  /**
   * @param log Where lines go.
   * @param format Makes the line from the last event's text, how many events it stands for
   * and how many there were in all.
   * @param context What every event gets: the endpoint.
   * @default format: the text, and "(and N more in the last second)" when it stands for more than one
   */
  constructor(
    log: LogFunction,
    format: (line: string, held: number, total: number) => string = (line, held) =>
      held > 1 ? `${line} (and ${held - 1} more in the last second)` : line,
    context: RateLimitedLogContext = {},
  ) {
    this.#log = log;
    this.#format = format;
    this.#endpoint = context.endpoint;
  }

  /** Events written so far. */
  get total(): number {
    return this.#total;
  }

  /**
   * Counts one event, and logs it unless a line went out less than a second ago.
   *
   * @param line What happened, in one line.
   * @param event The same as data; the line logged carries it with `count` and `total` added.
   */
  write(line: string, event?: LogEvent): void {
    this.#total++;
    this.#held++;
    this.#last = line;
    this.#lastEvent = event;
    if (this.#timer === undefined) this.#flush();
  }

  /** Stops the timer; events held back are not logged. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    const e = this.#lastEvent;
    const event: LogEvent | undefined = e === undefined ? undefined : {
      ...e,
      ...(this.#endpoint === undefined || e.endpoint !== undefined ? {} : { endpoint: this.#endpoint }),
      fields: { ...e.fields, count: this.#held, total: this.#total },
    };
    this.#log(this.#format(this.#last, this.#held, this.#total), event);
    this.#held = 0;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#held > 0) this.#flush();
    }, 1000);
  }
}
