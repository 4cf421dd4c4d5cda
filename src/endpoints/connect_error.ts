import type { ClientEndpoint } from "./endpoints.ts";
import { runtimeText, type TlsProblem, tlsProblem } from "./tls_problem.ts";

/**
 * Connecting failed: refused, timed out, host not found or unreachable. The message is
 * one line naming the destination; `code` is stable for programs; the runtime's error is the `cause`.
 */
export class ConnectError extends Error {
  /**
   * `ECONNREFUSED`, `ETIMEDOUT`, `ENOTFOUND`, `EHOSTUNREACH`, `ENETUNREACH`, `ENOENT`, `EACCES`, `ECANCELED`,
   * `ENOTCAPABLE`, `ECONNRESET`; for TLS `CERT_HAS_EXPIRED`, `CERT_UNTRUSTED`, `CERT_NAME_MISMATCH`,
   * `CERT_CA_AS_LEAF`, `TLS_VERSION`, `TLS_HANDSHAKE_REFUSED`, `TLS_NOT_TLS`; or the runtime's own.
   */
  readonly code: string;

  /**
   * @param message One line naming the destination and the problem.
   * @param code A stable code for programs.
   * @param options `cause`: the runtime's error.
   */
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectError";
    this.code = code;
  }
}

const PROBLEMS: Record<string, [code: string, text: string]> = {
  ECONNREFUSED: ["ECONNREFUSED", "connection refused"],
  ConnectionRefused: ["ECONNREFUSED", "connection refused"],
  ETIMEDOUT: ["ETIMEDOUT", "timed out"],
  TimedOut: ["ETIMEDOUT", "timed out"],
  ENOTFOUND: ["ENOTFOUND", "host name not found"],
  EAI_NONAME: ["ENOTFOUND", "host name not found"],
  EAI_AGAIN: ["ENOTFOUND", "host name not found (temporary failure in name resolution)"],
  DNS_ENOTFOUND: ["ENOTFOUND", "host name not found"],
  EHOSTUNREACH: ["EHOSTUNREACH", "host unreachable"],
  ENETUNREACH: ["ENETUNREACH", "network unreachable"],
  ENOENT: ["ENOENT", "no such socket file"],
  NotFound: ["ENOENT", "no such socket file"],
  EACCES: ["EACCES", "permission denied"],
  PermissionDenied: ["EACCES", "permission denied"],
  NotCapable: ["ENOTCAPABLE", "network access denied; run deno with --allow-net"],
  ECONNRESET: ["ECONNRESET", "connection reset while connecting"],
  CERT_HAS_EXPIRED: ["CERT_HAS_EXPIRED", "the server's certificate has expired"],
  DEPTH_ZERO_SELF_SIGNED_CERT: ["CERT_UNTRUSTED", "the server's certificate is not trusted"],
  SELF_SIGNED_CERT_IN_CHAIN: ["CERT_UNTRUSTED", "the server's certificate is not trusted"],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: ["CERT_UNTRUSTED", "the server's certificate is not trusted"],
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: ["CERT_UNTRUSTED", "the server's certificate is not trusted"],
  ERR_TLS_CERT_ALTNAME_INVALID: ["CERT_NAME_MISMATCH", "the server's certificate is for another name"],
  ConnectionReset: ["ECONNRESET", "connection reset while connecting"],
};

/**
 * Describes an endpoint for messages: `127.0.0.1:8000`, `[::1]:8000`, `unix:/tmp/echo.sock`.
 *
 * @param endpoint The destination.
 * @returns One short line.
 */
export function describeClientEndpoint(endpoint: ClientEndpoint): string {
  if (endpoint.type === "unix") return `unix:${endpoint.path}`;
  const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
  return `${endpoint.type === "tls" ? "tls:" : ""}${host}:${endpoint.port}`;
}

/**
 * Turns a runtime's connect error into a one-line {@link ConnectError}.
 *
 * @param endpoint Where it tried to connect.
 * @param error What the runtime threw or reported.
 * @returns The error to reject with.
 */
export function connectError(endpoint: ClientEndpoint, error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  // A TLS client's handshake failures read the same on every runtime, before the generic names
  // (Node and Bun give a server that closes mid-handshake the code ECONNRESET).
  const problem = (endpoint.type === "tls" ? handshakeProblem(error, "client") : undefined) ?? connectProblem(error);
  const code = problem.code;
  let text = problem.text;
  // Deno guards Unix sockets with file permissions, not the network one.
  if (code === "ENOTCAPABLE" && endpoint.type === "unix") text = "file access denied; run deno with --allow-read --allow-write";
  return new ConnectError(`Cannot connect to ${describeClientEndpoint(endpoint)}: ${text}`, code, { cause: error });
}

/**
 * Names what went wrong in a runtime's connect or TLS handshake error, the same on every runtime.
 *
 * @param error What the runtime threw or reported.
 * @returns A stable code and a short sentence-case description.
 */
export function connectProblem(error: unknown): { code: string; text: string } {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | undefined;
  const message = String(e?.message ?? error);
  let known: [code: string, text: string] | undefined = PROBLEMS[String(e?.code)] ?? PROBLEMS[String(e?.name)];
  // Some runtimes give only a message: Deno's name lookups, Bun's refusals.
  // rustls (Deno) and Bun describe certificate problems in words.
  known ??= /expired/i.test(message)
    ? PROBLEMS.CERT_HAS_EXPIRED
    : /UnknownIssuer|unknown issuer|self.signed|unable to verify/i.test(message)
    ? PROBLEMS.UNABLE_TO_VERIFY_LEAF_SIGNATURE
    : /NotValidForName|not valid for name|altname/i.test(message)
    ? PROBLEMS.ERR_TLS_CERT_ALTNAME_INVALID
    : undefined;
  known ??= /Name or service not known|failed to lookup address|No address associated|getaddrinfo/i.test(message)
    ? PROBLEMS.ENOTFOUND
    : /refused/i.test(message)
    ? PROBLEMS.ECONNREFUSED
    : undefined;
  return { code: known?.[0] ?? (typeof e?.code === "string" ? e.code : "ECONNECT"), text: known?.[1] ?? runtimeText(error) };
}

/**
 * Names why a TLS handshake failed, on either side: a `tls:` client's, or `startTLS()`'s.
 *
 * @param error What the runtime threw or reported.
 * @param side `client`: the server's certificate is checked first (`CERT_*`), then what the
 * server did; `server`: what the client did.
 * @returns A stable code and a short sentence-case description, or `undefined` if it is none of the known kinds.
 */
export function handshakeProblem(error: unknown, side: "client" | "server"): TlsProblem | undefined {
  if (side === "client") {
    const known = connectProblem(error);
    if (known.code.startsWith("CERT_")) return known;
  }
  return tlsProblem(error, side);
}
