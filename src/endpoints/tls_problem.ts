/**
 * Names a failed TLS handshake the same way on every runtime. OpenSSL (Node), BoringSSL (Bun)
 * and rustls (Deno, both adapters) describe the same failure in different words and codes,
 * and OpenSSL's lines carry a thread id, a source file and a line number
 * (`40E3…:error:0A0000F4:SSL routines:…:statem_clnt.c:396:`); twine's are one short line and
 * a code, with the runtime's error kept as the `cause` by whoever reports it.
 *
 * @example
 * ```ts
 * import { tlsProblem } from "./tls_problem.ts";
 * tlsProblem(new Error("received fatal alert: ProtocolVersion"), "client");
 * // { code: "TLS_VERSION", text: "the server offers no TLS version this client accepts" }
 * ```
 *
 * @module
 */

/** Why a TLS handshake failed, in twine's words: a stable code and a short sentence-case text. */
export interface TlsProblem {
  /** `TLS_VERSION`, `TLS_HANDSHAKE_REFUSED`, `TLS_NO_SHARED_CIPHER`, `TLS_NOT_TLS`, `TLS_CERT_REJECTED`, `CERT_CA_AS_LEAF` or `ECONNRESET`. */
  readonly code: string;
  /** What went wrong, to follow "Cannot connect to …: " or "TLS handshake failed on …: ". */
  readonly text: string;
}

type Rule = readonly [test: RegExp, code: string, text: string];

// Each rule is tried on "code reason name message" of the runtime's error, in order; the first that
// matches wins. Node: OpenSSL's reason in words, code ERR_SSL_*; Bun: BoringSSL's upper-case reason
// in the message (code ERR_SSL_* on node:tls, EPROTO on Bun.connect); Deno: rustls's words (and
// OpenSSL-like codes on node:tls). The raw texts each rule was made from are in test/tls_problem.test.ts.
const CLIENT: readonly Rule[] = [
  // rustls refuses a certificate with CA:TRUE as the server's own, even when it is the trusted root
  // itself (a self-signed certificate made with openssl req -x509's defaults); the others accept it.
  [
    /CaUsedAsEndEntity/,
    "CERT_CA_AS_LEAF",
    "the server's certificate is a CA certificate (CA:TRUE), which deno native refuses as a server's own; give the server a certificate signed by that CA, or connect with --adapter node",
  ],
  [
    /ALERT_PROTOCOL_VERSION|alert protocol version|fatal alert: ProtocolVersion|UNSUPPORTED_PROTOCOL|unsupported protocol/i,
    "TLS_VERSION",
    "the server offers no TLS version this client accepts",
  ],
  [
    /ALERT_HANDSHAKE_FAILURE|alert handshake failure|fatal alert: HandshakeFailure|NoCipherSuitesInCommon|NO_SHARED_CIPHER|no shared cipher/i,
    "TLS_HANDSHAKE_REFUSED",
    "the server refused the TLS handshake (most often: no cipher suite in common)",
  ],
  [
    /WRONG_VERSION_NUMBER|wrong version number|InvalidContentType|HTTP_REQUEST|packet length too long/i,
    "TLS_NOT_TLS",
    "the server did not answer in TLS (a plaintext port?)",
  ],
  [
    /disconnected before secure TLS|socket hang up|UnexpectedEof|unexpected end of file/i,
    "ECONNRESET",
    "the server closed the connection during the TLS handshake",
  ],
  [/read ECONNRESET|connection reset|ConnectionReset/i, "ECONNRESET", "the server reset the connection during the TLS handshake"],
];

const SERVER: readonly Rule[] = [
  [/HTTP_REQUEST|http request/i, "TLS_NOT_TLS", "the client sent an HTTP request, not TLS"],
  [
    /WRONG_VERSION_NUMBER|wrong version number|InvalidContentType|packet length too long|record layer failure/i,
    "TLS_NOT_TLS",
    "the client did not speak TLS",
  ],
  // rustls names what the old ClientHello lacks rather than its version.
  [
    /UNSUPPORTED_PROTOCOL|unsupported protocol|SignatureAlgorithmsExtensionRequired|SupportedVersionsExtensionRequired|fatal alert: ProtocolVersion/i,
    "TLS_VERSION",
    "the client offers no TLS version this server accepts",
  ],
  [/NO_SHARED_CIPHER|no shared cipher|NoCipherSuitesInCommon/i, "TLS_NO_SHARED_CIPHER", "the client shares no cipher suite with this server"],
  [/UNKNOWN_CA|unknown ca|UnknownCA/i, "TLS_CERT_REJECTED", "the client does not trust this server's certificate (unknown CA)"],
  [/CERTIFICATE_EXPIRED|certificate expired|CertificateExpired/i, "TLS_CERT_REJECTED", "the client rejected this server's certificate as expired"],
  [
    /BAD_CERTIFICATE|bad certificate|BadCertificate|CERTIFICATE_UNKNOWN|certificate unknown|CertificateUnknown/i,
    "TLS_CERT_REJECTED",
    "the client rejected this server's certificate (wrong name or not trusted)",
  ],
  // BoringSSL (Bun) reports an OpenSSL client's TLS 1.3 alert this way: measured for an unknown CA,
  // an expired certificate and a wrong name alike (with TLS 1.2 it names the alert).
  [
    /BAD_PACKET_LENGTH/,
    "TLS_CERT_REJECTED",
    "the client ended the handshake with an alert (most often: it rejects this server's certificate)",
  ],
  [/disconnected before secure TLS|socket hang up|UnexpectedEof|unexpected end of file/i, "ECONNRESET", "the client closed the connection during the handshake"],
  [/read ECONNRESET|connection reset|ConnectionReset/i, "ECONNRESET", "the client reset the connection during the handshake"],
];

function describe(error: unknown): string {
  const e = error as { code?: unknown; reason?: unknown; name?: unknown; message?: unknown } | null | undefined;
  return [e?.code, e?.reason, e?.name, e?.message ?? error].filter((x) => x !== undefined).map(String).join(" ");
}

/**
 * The first line of a runtime's error, without OpenSSL's thread id, library, function, source
 * file and line: `http request` for
 * `40F3…:error:0A00009C:SSL routines:tls_validate_record_header:http request:../deps/…/tlsany_meth.c:68:`.
 *
 * @param error What the runtime threw or reported.
 * @returns One short line.
 */
export function runtimeText(error: unknown): string {
  const line = String((error as { message?: unknown } | null | undefined)?.message ?? error).split("\n")[0]!;
  const openssl = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(line);
  return openssl ? openssl[1]! : line;
}

/**
 * Names why a TLS handshake failed, the same on every runtime.
 *
 * @param error What the runtime threw or reported.
 * @param side Which end saw it: `client` (a `tls:` connection, or `startTLS()` as client: the
 * text speaks of "the server") or `server` (an `ssl:` listener, or `startTLS()` as server).
 * @returns twine's code and text, or `undefined` for an error that is none of the known kinds.
 */
export function tlsProblem(error: unknown, side: "client" | "server"): TlsProblem | undefined {
  const text = describe(error);
  for (const [test, code, problem] of side === "client" ? CLIENT : SERVER) {
    if (test.test(text)) return { code, text: problem };
  }
  return undefined;
}
