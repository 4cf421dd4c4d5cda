import type { StartTlsOptions } from "./start_tls.ts";

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
  /**
   * For a socket that keeps one write in flight and learns only a promise later how much of it
   * the operating system took (Deno native): how many of the bytes in flight or queued behind it
   * to count as taken. Such a socket offers the whole queue as one write as soon as the write in
   * flight is done, in the same turn of the event loop, so what a synchronous burst queues
   * meanwhile says nothing about the peer. It must be 0 from the moment a write comes back short
   * (the kernel refused) until the socket has drained. Absent for a socket whose `write` reaches
   * the kernel at once.
   */
  readonly presumedTaken?: number;
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
  /** What TLS agreed on, for a TLS socket; absent or `undefined` otherwise. */
  tlsInfo?(): TlsInfo | undefined;
  /**
   * Upgrades the connection to TLS on the same TCP stream, for `Connection.startTLS()`.
   * Called with reading paused and nothing queued in the core; the adapter sends what it
   * has already taken in plaintext first, reads no more plaintext, and from then on reports
   * nothing from this socket.
   *
   * @param options Which side of the handshake, and its files.
   * @returns The TLS socket, reading and wired to the same connection, once the handshake is done.
   */
  startTls?(options: StartTlsOptions): Promise<Socket>;
}

/** What a TLS connection tells about itself, where the runtime exposes it. */
export interface TlsInfo {
  /** The ALPN protocol agreed on, or `null` for none. */
  readonly alpnProtocol: string | null;
  /** The peer's certificate; Bun and Node expose it, Deno does not. */
  readonly peerCertificate?: PeerCertificate;
}

/** The parts of a peer's X.509 certificate a protocol usually checks. */
export interface PeerCertificate {
  /** The subject, e.g. `CN=localhost`. */
  readonly subject: string;
  /** The issuer, e.g. `CN=twine-test-ca`. */
  readonly issuer: string;
  /** When it expires, as the runtime formats it. */
  readonly validTo: string;
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint256: string;
}
