/**
 * The handshake bound of a Deno TLS listener: one timer for all its pending handshakes rather
 * than a `setTimeout` and a `clearTimeout` per connection, which showed in Deno native's CPU per
 * handshake (docs/benchmark.md). Every handshake of a listener gets the same bound, so deadlines
 * come in the order connections are accepted and a queue keeps them.
 *
 * @module
 */

/** Deadlines of a listener's pending handshakes, in the order they were accepted. */
export class HandshakeDeadlines<C> {
  readonly #ms: number;
  readonly #expire: (conn: C) => void;
  // Parallel queues from #head on; a finished handshake leaves undefined in its place.
  #conns: (C | undefined)[] = [];
  #deadlines: number[] = [];
  #head = 0;
  // The ticket of #conns[0]: tickets count every connection ever added.
  #first = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /**
   * @param ms The bound on one handshake, in milliseconds.
   * @param expire Called once for each connection whose handshake outlasts it.
   */
  constructor(ms: number, expire: (conn: C) => void) {
    this.#ms = ms;
    this.#expire = expire;
  }

  /**
   * Starts the clock on a connection's handshake.
   *
   * @param conn The connection.
   * @returns Its ticket, for {@link done}.
   */
  add(conn: C): number {
    const ticket = this.#first + this.#conns.length;
    this.#conns.push(conn);
    this.#deadlines.push(performance.now() + this.#ms);
    if (this.#timer === undefined && !this.#stopped) this.#timer = setTimeout(this.#fire, this.#ms);
    return ticket;
  }

  /**
   * Stops the clock on a handshake that finished or failed.
   *
   * @param ticket What {@link add} returned.
   * @returns False if the bound had already expired it.
   */
  done(ticket: number): boolean {
    const at = ticket - this.#first;
    if (at < this.#head || this.#conns[at] === undefined) return false;
    this.#conns[at] = undefined;
    this.#advance();
    return true;
  }

  /** Clears the timer: the listener has closed. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#conns = [];
    this.#deadlines = [];
    this.#first += this.#head;
    this.#head = 0;
  }

  #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#head < this.#conns.length && this.#deadlines[this.#head]! <= now) {
      const conn = this.#conns[this.#head];
      this.#conns[this.#head++] = undefined;
      if (conn !== undefined) this.#expire(conn);
    }
    this.#advance();
    if (this.#head < this.#conns.length && !this.#stopped) {
      this.#timer = setTimeout(this.#fire, Math.max(0, this.#deadlines[this.#head]! - now));
    }
  };

  // Drops finished handshakes from the front; the timer armed for an earlier head fires early, once, and re-arms.
  #advance(): void {
    const conns = this.#conns;
    while (this.#head < conns.length && conns[this.#head] === undefined) this.#head++;
    if (this.#head === conns.length) {
      this.#first += this.#head;
      this.#head = 0;
      conns.length = 0;
      this.#deadlines.length = 0;
    } else if (this.#head > 1024 && this.#head * 2 > conns.length) {
      this.#first += this.#head;
      this.#conns = conns.slice(this.#head);
      this.#deadlines = this.#deadlines.slice(this.#head);
      this.#head = 0;
    }
  }
}
