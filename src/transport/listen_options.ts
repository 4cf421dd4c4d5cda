import { formatAddress } from "./address.ts";
import { DEFAULT_HIGH_WATER_MARK } from "./connection.ts";
import { checkTlsPolicy } from "../endpoints/tls_policy.ts";
import type { ListenOptions } from "./port.ts";

/**
 * Listening failed: the address is in use, not available, or not permitted.
 * The message is one line naming the address; the runtime's error is the `cause`.
 */
export class ListenError extends Error {
  /** A stable code: `EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, `ENOTCAPABLE`, `ENOTSUP` (an option this runtime lacks) or the runtime's own. */
  readonly code: string;

  /**
   * @param message One line naming the address and the problem.
   * @param code A stable code for programs.
   * @param options `cause`: the runtime's error.
   */
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ListenError";
    this.code = code;
  }
}

/**
 * Checks `listen` options and fills in defaults.
 *
 * @param options The caller's options.
 * @returns The host and port to bind.
 * @throws {TypeError} If the port is not a number or the host not a string.
 * @throws {RangeError} If the port is not an integer from 0 to 65535, a limit is out of range, or the
 * `tls` policy names no suite or a bad one, or a bad `minVersion`.
 */
export function resolveListenOptions(options: ListenOptions): { host: string; port: number } {
  const port = options.port ?? 8000;
  const host = options.host ?? "127.0.0.1";
  if (typeof port !== "number") throw new TypeError(`Cannot listen on port ${String(port)}: not a number`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot listen on port ${port}: must be an integer from 0 to 65535`);
  }
  if (typeof host !== "string" || host === "") throw new TypeError("Cannot listen: host must be a non-empty string");
  const atLeast = (name: string, value: number | undefined, min: number) => {
    if (value !== undefined && !(typeof value === "number" && value >= min)) {
      throw new RangeError(`Cannot listen with ${name} ${String(value)}: must be a number of at least ${min}`);
    }
  };
  atLeast("maxConnections", options.maxConnections, 1);
  atLeast("idleTimeout", options.idleTimeout, 0);
  atLeast("handshakeTimeout", options.handshakeTimeout, 1);
  atLeast("highWaterMark", options.highWaterMark, 0);
  atLeast("lowWaterMark", options.lowWaterMark, 0);
  atLeast("lingerTimeout", options.lingerTimeout, 0);
  atLeast("lingerIdleTimeout", options.lingerIdleTimeout, 0);
  atLeast("lingerBytes", options.lingerBytes, 0);
  atLeast("proxyHeaderTimeout", options.proxyHeaderTimeout, 1);
  for (const flag of ["proxyProtocol", "reusePort"] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== "boolean") {
      throw new TypeError(`Cannot listen with ${flag} ${String(options[flag])}: must be true or false`);
    }
  }
  checkTlsPolicy(options.tls, "Cannot listen with tls");
  const high = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if ((options.lowWaterMark ?? 0) > high) {
    throw new RangeError(`Cannot listen with lowWaterMark ${options.lowWaterMark} above highWaterMark ${high}`);
  }
  return { host, port };
}

const PROBLEMS: Record<string, [code: string, text: string]> = {
  EADDRINUSE: ["EADDRINUSE", "address already in use"],
  AddrInUse: ["EADDRINUSE", "address already in use"],
  EACCES: ["EACCES", "permission denied (ports below 1024 need privileges)"],
  PermissionDenied: ["EACCES", "permission denied (ports below 1024 need privileges)"],
  EADDRNOTAVAIL: ["EADDRNOTAVAIL", "address not available on this machine"],
  AddrNotAvailable: ["EADDRNOTAVAIL", "address not available on this machine"],
  NotCapable: ["ENOTCAPABLE", "network access denied; run deno with --allow-net"],
  ENOTFOUND: ["ENOTFOUND", "host name not found"],
  EAI_NONAME: ["ENOTFOUND", "host name not found"],
};

/**
 * Turns a runtime's listen error into a one-line {@link ListenError}.
 *
 * @param host The host asked for.
 * @param port The port asked for.
 * @param error What the runtime threw.
 * @returns The error to throw.
 */
export function listenError(host: string, port: number, error: unknown): ListenError {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | undefined;
  const known = PROBLEMS[String(e?.code)] ?? PROBLEMS[String(e?.name)];
  const code = known?.[0] ?? (typeof e?.code === "string" ? e.code : "ELISTEN");
  const text = known?.[1] ?? String(e?.message ?? error).split("\n")[0];
  return new ListenError(`Cannot listen on ${formatAddress({ host, port })}: ${text}`, code, { cause: error });
}
