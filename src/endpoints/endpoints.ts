/**
 * Endpoint strings, as Twisted's `serverFromString` and `clientFromString` read them:
 * `type:arg:name=value`, with `\` escaping the next character (so `\:` is a colon
 * inside a value). Parsing is pure: it checks the syntax, the names and the numbers,
 * and returns a typed description; the adapters open files and sockets.
 *
 * @example
 * ```ts
 * import { parseServerEndpoint } from "./endpoints.ts";
 * parseServerEndpoint("tcp6:8000:interface=\\:\\:1"); // { type: "tcp6", port: 8000, host: "::1", ... }
 * ```
 *
 * @module
 */
import { checkTlsPolicy, type TlsPolicy } from "./tls_policy.ts";

/**
 * A TCP server endpoint: `tcp:PORT[:interface=ADDR][:backlog=N]` (or by position, `tcp:PORT:ADDR:N`),
 * or `tcp6:` for IPv6 (by position `tcp6:PORT:N:ADDR`, Twisted's order).
 */
export interface TcpServerEndpoint {
  readonly type: "tcp" | "tcp6";
  readonly port: number;
  /** The address to bind; `127.0.0.1` (or `::1` for `tcp6`) unless `interface=` says otherwise. */
  readonly host: string;
  /** The listen backlog, if given; applied only where the runtime takes one (see docs/endpoints.md). */
  readonly backlog?: number;
  /** Whether a PROXY protocol header comes first (the `haproxy:` prefix). */
  readonly proxyProtocol?: boolean;
}

/**
 * A TLS server endpoint: `ssl:PORT:privateKey=KEY.pem[:certKey=CERT.pem][:extraCertChain=CHAIN.pem]`,
 * or `ssl:PORT:KEY.pem:CERT.pem` by position; twine's additions `alpn=`, `ciphers=` and `minVersion=`
 * ({@link TlsPolicy}: Mozilla's intermediate configuration unless they say otherwise).
 */
export interface TlsServerEndpoint extends TlsPolicy {
  readonly type: "ssl";
  readonly port: number;
  readonly host: string;
  readonly backlog?: number;
  /** Path of the PEM private key. */
  readonly privateKey: string;
  /** Path of the PEM certificate; as in Twisted, the key file when not given. */
  readonly certKey: string;
  /** Path of PEM intermediate certificates sent after the certificate. */
  readonly extraCertChain?: string;
  /** ALPN protocols offered, in order of preference (twine's addition: `alpn=h2;http/1.1`). */
  readonly alpn?: readonly string[];
  /** Whether a PROXY protocol header comes first (the `haproxy:` prefix). */
  readonly proxyProtocol?: boolean;
}

/** A Unix socket server endpoint: `unix:PATH[:mode=660][:backlog=N]`, or `unix:PATH:660:N` by position. */
export interface UnixServerEndpoint {
  readonly type: "unix";
  readonly path: string;
  /** Permission bits of the socket file. @default 0o666 */
  readonly mode: number;
  readonly backlog?: number;
  /** Whether a PROXY protocol header comes first (the `haproxy:` prefix). */
  readonly proxyProtocol?: boolean;
}

/**
 * A UDP server endpoint: `udp:PORT[:interface=ADDR]`, IPv6 with the address escaped
 * (`udp:7:interface=\:\:1`). Twine's own: Twisted's `serverFromString` has no `udp:`.
 * It is served by a `DatagramProtocol` (`listenUDPEndpoint`), not a `Factory`.
 */
export interface UdpServerEndpoint {
  readonly type: "udp";
  readonly port: number;
  /** The address to bind; `127.0.0.1` unless `interface=` says otherwise. */
  readonly host: string;
  /** Never set: a PROXY protocol header comes before a stream, and `haproxy:udp:` is refused. */
  readonly proxyProtocol?: false;
}

/** What `parseServerEndpoint` returns. */
export type ServerEndpoint = TcpServerEndpoint | TlsServerEndpoint | UnixServerEndpoint | UdpServerEndpoint;

/** A TCP client endpoint: `tcp:host=H:port=P[:timeout=S]` (or `tcp:H:P`, or `tcp:host=H:P`). */
export interface TcpClientEndpoint {
  readonly type: "tcp";
  readonly host: string;
  readonly port: number;
  /** Milliseconds to wait for the connection; the string gives seconds, as Twisted's. @default 30000 */
  readonly timeout: number;
}

/**
 * A TLS client endpoint: `tls:host=H:port=P[:trustRoots=CA.pem|DIR][:servername=N][:alpn=h2;http/1.1]`,
 * and `ciphers=`/`minVersion=` ({@link TlsPolicy}: Mozilla's intermediate configuration unless they say otherwise).
 */
export interface TlsClientEndpoint extends TlsPolicy {
  readonly type: "tls";
  readonly host: string;
  readonly port: number;
  readonly timeout: number;
  /**
   * Certificate authorities to trust instead of the system's: a PEM file, or a directory whose
   * `*.pem` files hold them (Twisted's `trustRoots` is such a directory).
   */
  readonly trustRoots?: string;
  /** Path of a PEM client certificate. */
  readonly certificate?: string;
  /** Path of the PEM key of the client certificate. */
  readonly privateKey?: string;
  /** The SNI name sent and checked against the certificate. @default host */
  readonly servername: string;
  /** ALPN protocols offered, in order of preference. */
  readonly alpn?: readonly string[];
}

/** A Unix socket client endpoint: `unix:path=/tmp/echo.sock[:timeout=S]` (or `unix:/tmp/echo.sock`). */
export interface UnixClientEndpoint {
  readonly type: "unix";
  readonly path: string;
  readonly timeout: number;
}

/** What `parseClientEndpoint` returns. */
export type ClientEndpoint = TcpClientEndpoint | TlsClientEndpoint | UnixClientEndpoint;

/** Default connect timeout in milliseconds, Twisted's 30 seconds. */
export const DEFAULT_CONNECT_TIMEOUT = 30_000;

interface Parsed {
  readonly args: string[];
  readonly kw: Map<string, string>;
}

/**
 * Splits an endpoint string into positional arguments and `name=value` pairs, as
 * Twisted's `_parse`: `:` separates parts, the first `=` in a part separates name from
 * value, and `\` takes the next character literally.
 *
 * @param description The endpoint string.
 * @param kind `server` or `client`, for error messages.
 * @returns The positional arguments (the first is the type) and the named ones.
 * @throws {TypeError} If the string ends in a lone backslash or names a parameter twice.
 */
export function splitEndpoint(description: string, kind?: string): Parsed {
  const where = `Cannot parse ${kind === undefined ? "" : `${kind} `}endpoint '${description}'`;
  const args: string[] = [];
  const kw = new Map<string, string>();
  let part: string[] = [];
  let current = "";
  // After '=' only ':' separates: a value may contain '=' unescaped, as in Twisted.
  let inValue = false;
  const add = () => {
    part.push(current);
    current = "";
    if (part.length === 1) args.push(part[0]!);
    else {
      const [name, value] = part as [string, string];
      if (kw.has(name)) throw new TypeError(`${where}: parameter '${name}' given twice`);
      kw.set(name, value);
    }
    part = [];
    inValue = false;
  };
  for (let i = 0; i < description.length; i++) {
    const c = description[i]!;
    if (c === "\\") {
      if (i + 1 >= description.length) {
        throw new TypeError(`${where}: ends in a lone backslash`);
      }
      current += description[++i];
    } else if (c === ":") {
      add();
    } else if (c === "=" && !inValue) {
      part.push(current);
      current = "";
      inValue = true;
    } else {
      current += c;
    }
  }
  add();
  return { args, kw };
}

/**
 * Quotes a value for an endpoint string, so that {@link splitEndpoint} reads it back unchanged.
 *
 * @param value Any text, such as a path or an IPv6 address.
 * @returns The text with `\`, `:` and `=` escaped by a backslash.
 * @example
 * ```ts
 * import { quoteEndpointValue } from "./endpoints.ts";
 * `tcp6:8000:interface=${quoteEndpointValue("::1")}`; // "tcp6:8000:interface=\\:\\:1"
 * ```
 */
export function quoteEndpointValue(value: string): string {
  return value.replace(/[\\:=]/g, (c) => `\\${c}`);
}

type Spec = {
  /** Names of the positional arguments after the type, in Twisted's order. */
  readonly positional: readonly string[];
  /** Every name accepted, positional or named. */
  readonly names: readonly string[];
  readonly required: readonly string[];
  /** Positional arguments Twisted takes that twine does not: a value in that place is refused. */
  readonly unsupported?: readonly string[];
  /** Twisted's `_parseClientTCP`: with `host=` named, a lone positional argument is the port. */
  readonly hostByNameShifts?: boolean;
};

// The positional orders are Twisted's: _parseTCP(port, interface, backlog), the tcp6 parser's
// (port, backlog, interface), _parseSSL(port, privateKey, certKey, sslmethod, interface, backlog,
// extraCertChain, dhParameters) and _parseUNIX(address, mode, backlog, lockfile).
const SERVER_SPECS: Record<string, Spec> = {
  tcp: { positional: ["port", "interface", "backlog"], names: ["port", "interface", "backlog"], required: ["port"] },
  tcp6: { positional: ["port", "backlog", "interface"], names: ["port", "interface", "backlog"], required: ["port"] },
  ssl: {
    positional: ["port", "privateKey", "certKey", "sslmethod", "interface", "backlog", "extraCertChain", "dhParameters"],
    names: ["port", "interface", "backlog", "privateKey", "certKey", "extraCertChain", "alpn", "ciphers", "minVersion"],
    required: ["port"],
    unsupported: ["sslmethod", "dhParameters"],
  },
  unix: {
    positional: ["address", "mode", "backlog", "lockfile"],
    names: ["address", "mode", "backlog", "lockfile"],
    required: ["address"],
  },
  // twine's own, in tcp's order.
  udp: { positional: ["port", "interface"], names: ["port", "interface"], required: ["port"] },
};

const CLIENT_SPECS: Record<string, Spec> = {
  tcp: { positional: ["host", "port"], names: ["host", "port", "timeout"], required: ["host", "port"], hostByNameShifts: true },
  tls: {
    positional: ["host", "port"],
    names: ["host", "port", "timeout", "trustRoots", "certificate", "privateKey", "servername", "alpn", "ciphers", "minVersion"],
    required: ["host", "port"],
    hostByNameShifts: true,
  },
  unix: { positional: ["path"], names: ["path", "timeout"], required: ["path"] },
};

function resolve(description: string, specs: Record<string, Spec>, kind: string): [string, Map<string, string>] {
  if (typeof description !== "string") {
    throw new TypeError(`Cannot parse ${kind} endpoint ${String(description)}: not a string`);
  }
  const { args, kw } = splitEndpoint(description, kind);
  const type = args.shift()!;
  const spec = specs[type];
  const where = `Cannot parse ${kind} endpoint '${description}'`;
  // UDP has no connections: nothing to dial, so say where udp: belongs rather than "unknown".
  if (kind === "client" && type === "udp") {
    throw new TypeError(`${where}: udp is a server endpoint only (bind one with listenUDPEndpoint)`);
  }
  if (type === "") throw new TypeError(`${where}: no endpoint type (expected ${Object.keys(specs).join(", ")})`);
  if (spec === undefined) {
    throw new TypeError(`${where}: unknown endpoint type '${type}' (expected ${Object.keys(specs).join(", ")})`);
  }
  for (const name of kw.keys()) {
    if (!spec.names.includes(name)) {
      throw new TypeError(`${where}: unknown parameter '${name}' for ${type} (expected ${spec.names.join(", ")})`);
    }
  }
  const positional = spec.hostByNameShifts === true && kw.has("host") && args.length === 1 ? ["port"] : spec.positional;
  const usable = positional.findIndex((name) => spec.unsupported?.includes(name));
  const most = usable === -1 ? positional.length : usable;
  if (args.length > most) {
    const value = args[most]!;
    if (most < positional.length) {
      throw new TypeError(
        `${where}: argument '${value}' would be ${positional[most]}, which twine does not support (${type} takes ${positional.slice(0, most).join(", ")} by position; name the rest)`,
      );
    }
    throw new TypeError(`${where}: unexpected argument '${value}' (${type} takes at most ${most} by position: ${positional.join(", ")})`);
  }
  const values = new Map<string, string>();
  args.forEach((value, i) => {
    const name = positional[i]!;
    if (kw.has(name)) throw new TypeError(`${where}: ${name} given twice, '${value}' by position and ${name}=${kw.get(name)} by name`);
    values.set(name, value);
  });
  for (const [name, value] of kw) values.set(name, value);
  for (const name of spec.required) {
    if (!values.has(name)) throw new TypeError(`${where}: missing ${name}`);
  }
  for (const [name, value] of values) {
    if (value === "") throw new TypeError(`${where}: missing value for ${name}`);
  }
  return [type, values];
}

function port(where: string, text: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n <= 65535)) throw new RangeError(`${where}: bad port '${text}' (expected an integer from 0 to 65535)`);
  return n;
}

function integer(where: string, name: string, text: string | undefined, radix = 10): number | undefined {
  if (text === undefined) return undefined;
  const ok = radix === 8 ? /^[0-7]{1,4}$/ : /^\d{1,9}$/;
  if (!ok.test(text)) {
    throw new RangeError(`${where}: bad ${name} '${text}' (expected ${radix === 8 ? "octal permission bits such as 660" : "a whole number"})`);
  }
  return Number.parseInt(text, radix);
}

function seconds(where: string, text: string | undefined): number {
  if (text === undefined) return DEFAULT_CONNECT_TIMEOUT;
  const s = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(s > 0)) throw new RangeError(`${where}: bad timeout '${text}' (expected a number of seconds above 0)`);
  return s * 1000;
}

function alpn(text: string | undefined): readonly string[] | undefined {
  return text === undefined ? undefined : text.split(";").filter((p) => p !== "");
}

/** `ciphers=A;B` and `minVersion=1.3`, `;`-separated as `alpn=` since `:` separates parameters. */
function tlsPolicy(where: string, v: Map<string, string>): TlsPolicy {
  const ciphers = alpn(v.get("ciphers"));
  const minVersion = v.get("minVersion") as TlsPolicy["minVersion"];
  const policy = { ...(ciphers === undefined ? {} : { ciphers }), ...(minVersion === undefined ? {} : { minVersion }) };
  checkTlsPolicy(policy, where);
  return policy;
}

/**
 * Parses a server endpoint string, as Twisted's `serverFromString`: `tcp:8000:interface=127.0.0.1:backlog=511`,
 * `tcp6:8000:interface=\:\:1`, `ssl:8443:privateKey=key.pem:certKey=cert.pem`, `unix:/tmp/echo.sock:mode=660`,
 * and any of them behind `haproxy:` (`haproxy:tcp:8000`) for a PROXY protocol header first. Also
 * `udp:7:interface=127.0.0.1`, which is twine's own (Twisted's has no `udp:`) and takes no `haproxy:`.
 * Arguments without a name are bound in the order of Twisted's parsers (`tcp:80:127.0.0.1:10` is
 * port, interface, backlog; `ssl:8443:key.pem:cert.pem`; `unix:/tmp/x.sock:660`).
 *
 * @param description The endpoint string.
 * @returns The endpoint's typed description.
 * @throws {TypeError} For a malformed string, an unknown type or parameter, a missing value, too many
 *   arguments, or a parameter given twice (by position and by name, or named twice).
 * @throws {RangeError} For a bad port, backlog or mode, or a bad `ciphers` or `minVersion`.
 * @example
 * ```ts
 * import { parseServerEndpoint } from "./endpoints.ts";
 * parseServerEndpoint("unix:/tmp/echo.sock:mode=660"); // { type: "unix", path: "/tmp/echo.sock", mode: 0o660 }
 * ```
 */
export function parseServerEndpoint(description: string): ServerEndpoint {
  // Twisted's haproxy: prefix wraps any other server endpoint in the PROXY protocol.
  if (description.startsWith("haproxy:")) {
    const inner = description.slice("haproxy:".length);
    if (inner.startsWith("haproxy:")) throw new TypeError(`Cannot parse server endpoint '${description}': haproxy: given twice`);
    const wrapped = parseServerEndpoint(inner);
    if (wrapped.type === "udp") {
      throw new TypeError(`Cannot parse server endpoint '${description}': haproxy: does not apply to udp (PROXY headers come before a stream)`);
    }
    return { ...wrapped, proxyProtocol: true };
  }
  const [type, v] = resolve(description, SERVER_SPECS, "server");
  const where = `Cannot parse server endpoint '${description}'`;
  const backlog = integer(where, "backlog", v.get("backlog"));
  const extra = backlog === undefined ? {} : { backlog };
  if (type === "unix") {
    const lockfile = v.get("lockfile");
    if (lockfile !== undefined && lockfile !== "0" && lockfile !== "1") {
      throw new RangeError(`${where}: bad lockfile '${lockfile}' (expected 0 or 1)`);
    }
    return { type, path: v.get("address")!, mode: integer(where, "mode", v.get("mode"), 8) ?? 0o666, ...extra };
  }
  const p = port(where, v.get("port")!);
  const host = v.get("interface") ?? (type === "tcp6" ? "::1" : "127.0.0.1");
  if (type === "udp") return { type, port: p, host };
  if (type === "tcp6" && !host.includes(":")) {
    throw new RangeError(`${where}: bad interface '${host}' for tcp6 (expected an IPv6 address)`);
  }
  if (type === "tcp" || type === "tcp6") return { type, port: p, host, ...extra };
  const privateKey = v.get("privateKey") ?? "server.pem";
  const chain = v.get("extraCertChain");
  const protocols = alpn(v.get("alpn"));
  return {
    type: "ssl",
    port: p,
    host,
    privateKey,
    certKey: v.get("certKey") ?? privateKey,
    ...(chain === undefined ? {} : { extraCertChain: chain }),
    ...(protocols === undefined ? {} : { alpn: protocols }),
    ...tlsPolicy(where, v),
    ...extra,
  };
}

/**
 * Parses a client endpoint string, as Twisted's `clientFromString`: `tcp:host=H:port=P:timeout=S`,
 * `tls:host=H:port=P:trustRoots=ca.pem`, `unix:path=/tmp/echo.sock`. As in Twisted's `_parseClientTCP`,
 * host and port may come by position (`tcp:H:P`), and with `host=` named a lone one is the port (`tcp:host=H:P`).
 *
 * @param description The endpoint string.
 * @returns The endpoint's typed description.
 * @throws {TypeError} For a malformed string, an unknown type or parameter, a missing value, too many
 *   arguments, or a parameter given twice.
 * @throws {RangeError} For a bad port or timeout, or a bad `ciphers` or `minVersion`.
 * @example
 * ```ts
 * import { parseClientEndpoint } from "./endpoints.ts";
 * parseClientEndpoint("tcp:host=127.0.0.1:port=8000"); // { type: "tcp", host: "127.0.0.1", port: 8000, timeout: 30000 }
 * ```
 */
export function parseClientEndpoint(description: string): ClientEndpoint {
  const [type, v] = resolve(description, CLIENT_SPECS, "client");
  const where = `Cannot parse client endpoint '${description}'`;
  const timeout = seconds(where, v.get("timeout"));
  if (type === "unix") return { type, path: v.get("path")!, timeout };
  const host = v.get("host")!;
  const p = port(where, v.get("port")!);
  if (type === "tcp") return { type, host, port: p, timeout };
  const optional: Record<string, unknown> = {};
  for (const name of ["trustRoots", "certificate", "privateKey"] as const) {
    if (v.has(name)) optional[name] = v.get(name);
  }
  const protocols = alpn(v.get("alpn"));
  if (protocols !== undefined) optional.alpn = protocols;
  return { type: "tls", host, port: p, timeout, servername: v.get("servername") ?? host, ...optional, ...tlsPolicy(where, v) };
}

/**
 * Writes a server endpoint back as a string that {@link parseServerEndpoint} reads as the same endpoint.
 *
 * @param endpoint The description.
 * @returns The endpoint string, e.g. `tcp:8000:interface=127.0.0.1`.
 */
export function formatServerEndpoint(endpoint: ServerEndpoint): string {
  if (endpoint.type === "udp") return `udp:${endpoint.port}:interface=${quoteEndpointValue(endpoint.host)}`;
  if (endpoint.proxyProtocol === true) return `haproxy:${formatServerEndpoint({ ...endpoint, proxyProtocol: false })}`;
  const q = quoteEndpointValue;
  const backlog = endpoint.backlog === undefined ? "" : `:backlog=${endpoint.backlog}`;
  if (endpoint.type === "unix") return `unix:${q(endpoint.path)}:mode=${endpoint.mode.toString(8)}${backlog}`;
  const base = `${endpoint.type}:${endpoint.port}:interface=${q(endpoint.host)}${backlog}`;
  if (endpoint.type !== "ssl") return base;
  const chain = endpoint.extraCertChain === undefined ? "" : `:extraCertChain=${q(endpoint.extraCertChain)}`;
  const protocols = endpoint.alpn === undefined ? "" : `:alpn=${q(endpoint.alpn.join(";"))}`;
  const ciphers = endpoint.ciphers === undefined ? "" : `:ciphers=${q(endpoint.ciphers.join(";"))}`;
  const minVersion = endpoint.minVersion === undefined ? "" : `:minVersion=${endpoint.minVersion}`;
  return `${base}:privateKey=${q(endpoint.privateKey)}:certKey=${q(endpoint.certKey)}${chain}${protocols}${ciphers}${minVersion}`;
}

/**
 * Describes where a server endpoint listens, for log lines: `tcp:127.0.0.1:8000`, `ssl:[::1]:8443`, `unix:/tmp/echo.sock`,
 * `udp:127.0.0.1:7`.
 *
 * @param endpoint The description, with the port it actually bound.
 * @returns One short line.
 */
export function describeServerEndpoint(endpoint: ServerEndpoint): string {
  if (endpoint.type === "unix") return `unix:${endpoint.path}`;
  const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
  return `${endpoint.type}:${host}:${endpoint.port}`;
}
