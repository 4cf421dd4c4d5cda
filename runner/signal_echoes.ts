/**
 * Tells a signal delivered twice from one that was sent twice. A terminal's Ctrl-C reaches its
 * whole process group, and a wrapper in that group (`bunx`, `npx`, a shell script) passes it on
 * to the server as well: the server gets the same signal twice within milliseconds, which must
 * not count as the second signal that stops it at once.
 *
 * @module
 */

/** A repeat of the same signal within this many milliseconds is the same signal. */
export const SIGNAL_ECHO_MS = 200;

/** Remembers the last signal that counted. */
export class SignalEchoes {
  #last: { signal: string; at: number } | undefined;

  /**
   * Whether `signal` repeats the last one that counted within {@link SIGNAL_ECHO_MS}; if not, it
   * becomes the one that counted.
   *
   * @param signal The signal's name.
   * @returns True for a repeat, to be ignored.
   * @example
   * ```ts
   * import { SignalEchoes } from "./signal_echoes.ts";
   * const echoes = new SignalEchoes();
   * echoes.echo("SIGINT"); // false: the first counts
   * echoes.echo("SIGINT"); // true: the same Ctrl-C, passed on by a wrapper
   * ```
   */
  echo(signal: string): boolean {
    const now = Date.now();
    if (this.#last !== undefined && this.#last.signal === signal && now - this.#last.at < SIGNAL_ECHO_MS) return true;
    this.#last = { signal, at: now };
    return false;
  }
}
