/**
 * What every adapter does before TLS: reads the PEM files an endpoint names and checks
 * that certificate and key belong together, on `node:fs` and `node:crypto` (which all
 * three runtimes implement), so that a wrong path or a mismatched pair is one clear
 * line on every runtime instead of three different runtime errors; turns the TLS policy
 * into what the runtime takes, or refuses it in one line; bounds and logs handshakes.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { getCiphers } from "node:tls";
import { ConnectError } from "../../src/endpoints/connect_error.ts";
import type { TlsClientEndpoint, TlsServerEndpoint } from "../../src/endpoints/endpoints.ts";
import { checkTlsPolicy, INTERMEDIATE_CIPHERS, type TlsPolicy, withTlsPolicy } from "../../src/endpoints/tls_policy.ts";
import { runtimeText, tlsProblem } from "../../src/endpoints/tls_problem.ts";
import { formatAddress } from "../../src/transport/address.ts";
import { ListenError } from "../../src/transport/listen_options.ts";
import { defaultLog, type LogFunction } from "../../src/transport/log_event.ts";
import type { ListenOptions } from "../../src/transport/port.ts";
import { RateLimitedLog } from "../../src/transport/rate_limited_log.ts";

/** How long a TLS server's handshake may take when neither a handshake nor an idle timeout is set, in milliseconds: Node's default. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 120_000;

/**
 * The bound on one TLS handshake of a listener, the same on every adapter.
 *
 * @param options The listen options.
 * @returns Milliseconds: `handshakeTimeout` if set, else the idle timeout if set, else {@link DEFAULT_HANDSHAKE_TIMEOUT}.
 */
export function handshakeTimeoutOf(options: ListenOptions): number {
  return options.handshakeTimeout || options.idleTimeout || DEFAULT_HANDSHAKE_TIMEOUT;
}

/**
 * The error a listener reports for a handshake it gave up on.
 *
 * @param ms The bound, from {@link handshakeTimeoutOf}.
 * @param cause The runtime's own report, if it made one.
 * @returns One line naming the bound: `no handshake within 120 s`.
 */
export function handshakeTimedOut(ms: number, cause?: unknown): Error {
  return Object.assign(new Error(`no handshake within ${ms / 1000} s`, { cause }), { code: "ETIMEDOUT" });
}

/** The PEM text a TLS server needs. */
export interface ServerPem {
  /** The certificate, followed by `extraCertChain` if given. */
  cert: string;
  key: string;
}

/** The PEM text a TLS client may need. */
export interface ClientPem {
  ca?: string;
  cert?: string;
  key?: string;
}

function where(endpoint: TlsServerEndpoint): string {
  const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
  return `ssl:${host}:${endpoint.port}`;
}

type Fail = (text: string, code: string, cause?: unknown) => Error;

function readError(error: unknown, path: string, what: string, fail: Fail): Error {
  const code = String((error as { code?: unknown }).code ?? (error as { name?: unknown }).name);
  const why = code === "ENOENT" || code === "NotFound"
    ? "no such file"
    : code === "EACCES" || code === "PermissionDenied"
    ? "permission denied"
    : code === "NotCapable"
    ? "file access denied; run deno with --allow-read"
    : String((error as Error).message).split("\n")[0];
  return fail(`cannot read ${what} file '${path}': ${why}`, code === "NotFound" ? "ENOENT" : code, error);
}

function read(path: string, what: string, fail: Fail): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw readError(error, path, what, fail);
  }
  if (!text.includes("-----BEGIN ")) throw fail(`${what} file '${path}' is not PEM`, "EBADPEM");
  return text;
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Reads `trustRoots`: one PEM file, or a directory of them, as Twisted's `trustRoots` (and
 * `caCertsDir`) means one. As Twisted's `_loadCAsFromDir`, the certificates are those of the
 * directory's `*.pem` files (any case), and a file that cannot be read or holds no certificate
 * is passed over; a directory with none at all is an error rather than an empty trust store.
 */
function readTrustRoots(path: string, fail: Fail): string {
  const what = "trust roots";
  let names: string[];
  try {
    if (!statSync(path).isDirectory()) return read(path, what, fail);
    names = readdirSync(path);
  } catch (error) {
    throw readError(error, path, what, fail);
  }
  const certificates: string[] = [];
  for (const name of names.filter((n) => n.toLowerCase().endsWith(".pem")).sort()) {
    try {
      certificates.push(...(readFileSync(`${path}/${name}`, "utf8").match(CERTIFICATE) ?? []));
    } catch {
      // As Twisted: a file it cannot read (a subdirectory, no permission) is not a root.
    }
  }
  if (certificates.length === 0) throw fail(`${what} directory '${path}' holds no certificate in a *.pem file`, "EBADPEM");
  return `${certificates.join("\n")}\n`;
}

/**
 * Reads a TLS server endpoint's certificate and key, and checks they match.
 *
 * @param endpoint The `ssl:` endpoint.
 * @returns The PEM text.
 * @throws {ListenError} `ENOENT`, `EACCES` or `EBADPEM` naming the file, or `EKEYMISMATCH`.
 */
export function readServerPem(endpoint: TlsServerEndpoint): ServerPem {
  const fail = (text: string, code: string, cause?: unknown) =>
    new ListenError(`Cannot listen on ${where(endpoint)}: ${text}`, code, { cause });
  const key = read(endpoint.privateKey, "private key", fail);
  let cert = read(endpoint.certKey, "certificate", fail);
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw fail(`cannot use certificate '${endpoint.certKey}' with key '${endpoint.privateKey}': ${(error as Error).message.split("\n")[0]}`, "EBADPEM", error);
  }
  if (!matches) {
    throw fail(`certificate '${endpoint.certKey}' does not match private key '${endpoint.privateKey}'`, "EKEYMISMATCH");
  }
  if (endpoint.extraCertChain !== undefined) cert = `${cert.trimEnd()}\n${read(endpoint.extraCertChain, "certificate chain", fail)}`;
  return { cert, key };
}

/**
 * Reads a TLS client endpoint's trust roots (a PEM file, or a directory of `*.pem` files) and
 * client certificate, if it names them.
 *
 * @param endpoint The `tls:` endpoint.
 * @returns The PEM text of what it names.
 * @throws {ConnectError} `ENOENT`, `EACCES` or `EBADPEM` naming the file or directory.
 */
export function readClientPem(endpoint: TlsClientEndpoint): ClientPem {
  const fail = (text: string, code: string, cause?: unknown) =>
    new ConnectError(`Cannot connect to tls:${endpoint.host}:${endpoint.port}: ${text}`, code, { cause });
  const pem: ClientPem = {};
  if (endpoint.trustRoots !== undefined) pem.ca = readTrustRoots(endpoint.trustRoots, fail);
  if (endpoint.certificate !== undefined) pem.cert = read(endpoint.certificate, "certificate", fail);
  if (endpoint.privateKey !== undefined) pem.key = read(endpoint.privateKey, "private key", fail);
  return pem;
}

/** What a runtime and adapter's TLS can be told, for {@link tlsSettings}. */
export interface TlsAbilities {
  /** The runtime and adapter, as a refusal names them: `deno native`, `deno node:net`. */
  readonly name: string;
  /** Whether it applies a TLS 1.2 cipher list; rustls (Deno) takes none, or checks one and then ignores it. */
  readonly ciphers: boolean;
  /** Whether it can refuse TLS 1.2 (Deno native cannot). */
  readonly minVersion13: boolean;
}

/** A TLS policy in the terms `node:tls` and Bun take. */
export interface TlsSettings {
  /** OpenSSL's cipher list: the names joined by `:`. */
  readonly ciphers: string;
  readonly minVersion: "TLSv1.2" | "TLSv1.3";
}

let offered: Set<string> | undefined;

/**
 * Turns a TLS policy into what the runtime takes: Mozilla's intermediate suites and TLS 1.2
 * and 1.3 unless the policy says otherwise.
 *
 * @param policy The endpoint's or `startTLS()`'s, merged with the listen or connect option's.
 * @param can What this runtime and adapter can apply.
 * @param fail Makes the error for one line of text and a code.
 * @returns The cipher list and lowest version to pass on.
 * @throws {Error} From `fail`: `EINVAL` for a suite this runtime does not have, `ENOTSUP` for a setting it cannot apply.
 */
export function tlsSettings(policy: TlsPolicy, can: TlsAbilities, fail: (text: string, code: string) => Error): TlsSettings {
  if (policy.ciphers !== undefined) {
    // OpenSSL passes over names it does not know, and refuses a list only when it knows none:
    // a misspelt suite would go unnoticed. getCiphers() lists each runtime's own, in lower case.
    offered ??= new Set(getCiphers().map((name) => name.toUpperCase()));
    const missing = policy.ciphers.find((name) => !offered!.has(name.toUpperCase()));
    if (missing !== undefined) throw fail(`this runtime's TLS has no cipher suite '${missing}'`, "EINVAL");
    if (!can.ciphers) {
      throw fail(`${can.name} cannot choose TLS cipher suites (rustls offers Mozilla's intermediate ones and no way to narrow them)`, "ENOTSUP");
    }
  }
  if (policy.minVersion === "1.3" && !can.minVersion13) throw fail(`${can.name} cannot refuse TLS 1.2; use --adapter node`, "ENOTSUP");
  return { ciphers: (policy.ciphers ?? INTERMEDIATE_CIPHERS).join(":"), minVersion: policy.minVersion === "1.3" ? "TLSv1.3" : "TLSv1.2" };
}

/**
 * A TLS listener's settings: the endpoint's policy, else the listen option `tls`, else Mozilla's intermediate.
 *
 * @param endpoint The `ssl:` endpoint.
 * @param options The listen options.
 * @param can What this runtime and adapter can apply.
 * @returns The cipher list and lowest version to pass on.
 * @throws {RangeError} For a bad policy in an endpoint made in code.
 * @throws {ListenError} `EINVAL` or `ENOTSUP`, as {@link tlsSettings}.
 */
export function serverTlsSettings(endpoint: TlsServerEndpoint, options: ListenOptions, can: TlsAbilities): TlsSettings {
  const at = `Cannot listen on ${where(endpoint)}`;
  const policy = withTlsPolicy(endpoint, options.tls);
  checkTlsPolicy(policy, at);
  return tlsSettings(policy, can, (text, code) => new ListenError(`${at}: ${text}`, code));
}

/**
 * A TLS client's settings: the endpoint's policy (the connect option `tls` is merged into it by then).
 *
 * @param endpoint The `tls:` endpoint.
 * @param can What this runtime and adapter can apply.
 * @returns The cipher list and lowest version to pass on.
 * @throws {RangeError} For a bad policy in an endpoint made in code.
 * @throws {ConnectError} `EINVAL` or `ENOTSUP`, as {@link tlsSettings}.
 */
export function clientTlsSettings(endpoint: TlsClientEndpoint, can: TlsAbilities): TlsSettings {
  const at = `Cannot connect to tls:${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
  checkTlsPolicy(endpoint, at);
  return tlsSettings(endpoint, can, (text, code) => new ConnectError(`${at}: ${text}`, code));
}

/**
 * Logs failed TLS handshakes (a plaintext client on the TLS port, a client that rejects
 * the certificate) at most once a second, so that a flood of them does not flood the log,
 * and counts each one. A line names the peer and says what happened in twine's words, the
 * same on every runtime: `TLS handshake failed on ssl:127.0.0.1:8443 from 127.0.0.1:50312:
 * the client sent an HTTP request, not TLS (1 in the last second, 1 in all)`.
 *
 * @param endpoint Where the server listens, for the log line.
 * @param log Where the line goes.
 * @param counted Called once per failure, before the log: the listening port's `handshakeFailed`.
 * @returns `failed(error, peer)` to call with each handshake error and the peer's address, if
 * the runtime still knows it; `stop` clears its timer on close.
 */
export function handshakeFailureLog(
  endpoint: TlsServerEndpoint,
  log: LogFunction = defaultLog,
  counted: () => void = () => {},
): { failed(error: unknown, peer?: string): void; stop(): void } {
  const at = where(endpoint);
  const failures = new RateLimitedLog(log, (last, held, total) =>
    `TLS handshake failed on ${at}${last} (${held} in the last second, ${total} in all)`
  , { endpoint: at });
  return {
    failed: (error: unknown, peer?: string) => {
      counted();
      const problem = tlsProblem(error, "server");
      const text = problem?.text ?? runtimeText(error);
      const code = problem?.code ?? (error as { code?: unknown } | undefined)?.code;
      failures.write(`${peer === undefined ? "" : ` from ${peer}`}: ${text}`, {
        event: "tls_handshake_failed",
        level: "warn",
        ...(peer === undefined ? {} : { peer }),
        fields: { error: text, ...(typeof code === "string" ? { code } : {}) },
      });
    },
    stop: () => failures.stop(),
  };
}

/**
 * A peer's address for log lines, `[::1]:50312` for IPv6.
 *
 * @param host The address the runtime reports.
 * @param port The port it reports.
 * @returns `host:port`, or `undefined` when the runtime no longer knows it (a socket closed already).
 */
export function peerOf(host: string | undefined, port: number | undefined): string | undefined {
  if (host === undefined || host === "" || port === undefined) return undefined;
  return formatAddress({ host, port });
}
