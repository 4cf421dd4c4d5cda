/**
 * A log for events that can come in floods (refused connections, failed handshakes,
 * bad PROXY headers): the first line goes out at once, then at most one line a
 * second, counting what it held back, so that a flood cannot flood the log too.
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
  readonly #log: (line: string) => void;
  readonly #format: (line: string, held: number, total: number) => string;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #held = 0;
  #total = 0;
  #last = "";

  /**
   * @param log Where lines go.
   * @param format Makes the line from the last event's text, how many events it stands for
   * and how many there were in all.
   * @default format: the text, and "(and N more in the last second)" when it stands for more than one
   */
  constructor(
    log: (line: string) => void,
    format: (line: string, held: number, total: number) => string = (line, held) =>
      held > 1 ? `${line} (and ${held - 1} more in the last second)` : line,
  ) {
    this.#log = log;
    this.#format = format;
  }

  /** Events written so far. */
  get total(): number {
    return this.#total;
  }

  /**
   * Counts one event, and logs it unless a line went out less than a second ago.
   *
   * @param line What happened, in one line.
   */
  write(line: string): void {
    this.#total++;
    this.#held++;
    this.#last = line;
    if (this.#timer === undefined) this.#flush();
  }

  /** Stops the timer; events held back are not logged. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    this.#log(this.#format(this.#last, this.#held, this.#total));
    this.#held = 0;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#held > 0) this.#flush();
    }, 1000);
  }
}
