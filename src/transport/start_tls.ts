import type { TlsClientEndpoint, TlsServerEndpoint } from "../endpoints/endpoints.ts";

/**
 * The server side of `startTLS()`: certificate and key files as the `ssl:` endpoint
 * takes them (`privateKey`, `certKey`, `extraCertChain`, `alpn`), and its TLS policy
 * (`ciphers`, `minVersion`; else the connection's `tls` option, else Mozilla's intermediate).
 */
export interface StartTlsServerOptions
  extends Pick<TlsServerEndpoint, "privateKey" | "certKey" | "extraCertChain" | "alpn" | "ciphers" | "minVersion"> {
  readonly side: "server";
}

/**
 * The client side of `startTLS()`: trust roots, SNI name, client certificate, ALPN and
 * TLS policy as the `tls:` endpoint takes them.
 */
export interface StartTlsClientOptions
  extends Pick<TlsClientEndpoint, "trustRoots" | "certificate" | "privateKey" | "alpn" | "ciphers" | "minVersion"> {
  readonly side: "client";
  /** The SNI name sent and checked against the server's certificate. */
  readonly servername: string;
}

/** What `Connection.startTLS()` takes: which side of the handshake this end plays, and its files. */
export type StartTlsOptions = StartTlsServerOptions | StartTlsClientOptions;

/**
 * Why `startTLS()` failed: one line naming the connection and the problem. A handshake
 * that fails also closes the connection, whose `connectionLost` gets the same message.
 */
export class StartTlsError extends Error {
  /**
   * For a failed handshake, the code a `tls:` client or an `ssl:` listener would give it
   * (`CERT_UNTRUSTED`, `TLS_VERSION`, `TLS_NOT_TLS`, `ECONNRESET`, …); otherwise `undefined`.
   */
  readonly code: string | undefined;

  /**
   * @param message One line naming the connection and the problem.
   * @param options `cause`: the runtime's error.
   * @param code The handshake failure's code, if it is one.
   */
  constructor(message: string, options?: ErrorOptions, code?: string) {
    super(message, options);
    this.name = "StartTlsError";
    this.code = code;
  }
}
