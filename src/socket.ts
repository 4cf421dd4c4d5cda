/**
 * The slice of a runtime's socket that a {@link Connection} drives. Each adapter
 * implements it over its runtime's API and reports events back through the
 * connection's `received`, `writable`, `readEnded` and `closed` methods.
 */
export interface Socket {
  /**
   * Hands bytes to the runtime without blocking.
   *
   * @param data The bytes; the socket may keep a reference until they are sent.
   * @returns How many bytes it took. Fewer than `data.length` means it is full:
   * it calls `connection.writable()` once it can take more.
   */
  write(data: Uint8Array): number;
  /** Bytes taken by `write` but not yet handed to the operating system. */
  readonly pending: number;
  /** Stops reading from the peer. */
  pauseReading(): void;
  /** Starts reading from the peer again. */
  resumeReading(): void;
  /** Sends FIN once everything taken has been sent; reading goes on. */
  shutdownWrite(): void;
  /** Closes both directions once everything taken has been sent, then reports `closed()`. */
  close(): void;
  /** Closes now, discarding what is unsent (RST where the runtime allows), then reports `closed()`. */
  abort(): void;
}
