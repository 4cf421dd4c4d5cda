import { type Address, tcpAddress } from "../transport/address.ts";

/**
 * A parsed PROXY protocol header (HAProxy's `doc/proxy-protocol.txt`, versions 1 and 2).
 * `source` and `destination` are set only for a proxied TCP connection over IPv4 or IPv6;
 * for `LOCAL` (health checks, whatever their family byte), `UNKNOWN` and families twine does
 * not speak, they are absent and the receiver uses the real connection's addresses, as the spec asks.
 */
export interface ProxyHeader {
  /** 1 for the text form, 2 for the binary one. */
  readonly version: 1 | 2;
  /** `PROXY` for a relayed connection, `LOCAL` for one the proxy made itself (v2 only). */
  readonly command: "PROXY" | "LOCAL";
  /** The original client. */
  readonly source?: Address;
  /** The original destination, as the client addressed it. */
  readonly destination?: Address;
  /** The header's length on the wire, in bytes. */
  readonly length: number;
}

/** What {@link ProxyHeaderParser.feed} found so far. */
export type ProxyParseResult =
  | { readonly status: "incomplete" }
  | { readonly status: "done"; readonly header: ProxyHeader; readonly rest: Uint8Array }
  | { readonly status: "invalid"; readonly reason: string };

/** The longest v1 line the spec allows, CRLF included. */
export const V1_MAX_LENGTH = 107;
/** The default bound on a whole v2 header (16 fixed bytes plus addresses and TLVs). */
export const DEFAULT_V2_MAX_LENGTH = 4096;

const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V1_PREFIX = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]; // "PROXY "
const INCOMPLETE: ProxyParseResult = { status: "incomplete" };

function invalid(reason: string): ProxyParseResult {
  return { status: "invalid", reason };
}

/**
 * Parses a PROXY protocol header, v1 or v2, from chunks as they are read, in any split
 * down to one byte at a time. It never throws on input: bad bytes give `invalid` with a
 * one-line reason, and it says so as soon as the bytes read cannot start a valid header.
 *
 * @example
 * ```ts
 * import { ProxyHeaderParser } from "./proxy_header.ts";
 * const parser = new ProxyHeaderParser();
 * const r = parser.feed(new TextEncoder().encode("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /"));
 * if (r.status === "done") r.header.source; // { type: "TCP", host: "192.168.0.1", port: 56324 }
 * ```
 */
export class ProxyHeaderParser {
  readonly #v2Max: number;
  #buffer = new Uint8Array(0);
  #result: ProxyParseResult = INCOMPLETE;

  /**
   * @param v2MaxLength The longest v2 header accepted, in bytes; longer ones are invalid.
   * @throws {RangeError} If `v2MaxLength` is below 16 or above 65551.
   */
  constructor(v2MaxLength = DEFAULT_V2_MAX_LENGTH) {
    if (!(Number.isInteger(v2MaxLength) && v2MaxLength >= 16 && v2MaxLength <= 16 + 0xffff)) {
      throw new RangeError(`Cannot parse PROXY headers up to ${v2MaxLength} bytes: must be an integer from 16 to 65551`);
    }
    this.#v2Max = v2MaxLength;
  }

  /**
   * Takes the next bytes read. Once the result is `done` or `invalid` it stays so.
   *
   * @param chunk The bytes; the parser copies what it keeps.
   * @returns `incomplete`, `done` with the header and the bytes after it, or `invalid`.
   */
  feed(chunk: Uint8Array): ProxyParseResult {
    if (this.#result.status !== "incomplete") return this.#result;
    const all = new Uint8Array(this.#buffer.length + chunk.length);
    all.set(this.#buffer);
    all.set(chunk, this.#buffer.length);
    const result = parse(all, this.#v2Max);
    if (result.status === "incomplete") this.#buffer = all;
    else {
      this.#buffer = new Uint8Array(0);
      this.#result = result;
    }
    return result;
  }
}

function matchesPrefix(data: Uint8Array, prefix: readonly number[]): boolean {
  const n = Math.min(data.length, prefix.length);
  for (let i = 0; i < n; i++) if (data[i] !== prefix[i]) return false;
  return true;
}

function parse(data: Uint8Array, v2Max: number): ProxyParseResult {
  if (data.length === 0) return INCOMPLETE;
  if (data[0] === V2_SIGNATURE[0]) {
    if (!matchesPrefix(data, V2_SIGNATURE)) return invalid("not a PROXY protocol v2 signature");
    return parseV2(data, v2Max);
  }
  if (!matchesPrefix(data, V1_PREFIX)) return invalid("no PROXY protocol header");
  return parseV1(data);
}

function parseV2(data: Uint8Array, v2Max: number): ProxyParseResult {
  if (data.length < 16) return INCOMPLETE;
  const versionCommand = data[12]!;
  if (versionCommand >> 4 !== 2) return invalid(`unsupported PROXY protocol version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid(`unknown PROXY protocol v2 command ${command}`);
  const family = data[13]! >> 4;
  const transport = data[13]! & 0x0f;
  // The spec has a receiver of LOCAL discard the protocol block, family byte included.
  if (command === 1) {
    if (family > 3) return invalid(`unknown PROXY protocol v2 address family ${family}`);
    if (transport > 2) return invalid(`unknown PROXY protocol v2 transport ${transport}`);
  }
  const length = 16 + ((data[14]! << 8) | data[15]!);
  if (length > v2Max) return invalid(`PROXY protocol v2 header of ${length} bytes is over the limit of ${v2Max}`);
  const needed = command === 1 && transport === 1 ? (family === 1 ? 12 : family === 2 ? 36 : 0) : 0;
  if (length - 16 < needed) return invalid(`PROXY protocol v2 address block of ${length - 16} bytes is too short`);
  if (data.length < length) return INCOMPLETE;
  const rest = data.subarray(length);
  if (command === 0 || needed === 0) {
    // LOCAL, or a family/transport twine does not serve: use the real endpoints (the spec's UNSPEC fallback).
    return { status: "done", header: { version: 2, command: command === 0 ? "LOCAL" : "PROXY", length }, rest };
  }
  const view = new DataView(data.buffer, data.byteOffset + 16, needed);
  const size = family === 1 ? 4 : 16;
  const format = family === 1 ? formatIPv4 : formatIPv6;
  const source = tcpAddress(format(data.subarray(16, 16 + size)), view.getUint16(2 * size));
  const destination = tcpAddress(format(data.subarray(16 + size, 16 + 2 * size)), view.getUint16(2 * size + 2));
  return { status: "done", header: { version: 2, command: "PROXY", source, destination, length }, rest };
}

function parseV1(data: Uint8Array): ProxyParseResult {
  let end = -1;
  // The CR may come at most two bytes before the limit: CRLF counts towards the 107.
  const limit = Math.min(data.length, V1_MAX_LENGTH - 1);
  for (let i = 0; i < limit; i++) {
    const c = data[i]!;
    if (c === 0x0d) {
      if (i + 1 >= data.length) return INCOMPLETE;
      if (data[i + 1] !== 0x0a) return invalid("PROXY protocol v1 line has a CR without LF");
      end = i;
      break;
    }
    if (c < 0x20 || c > 0x7e) return invalid("PROXY protocol v1 line has a byte that is not printable US-ASCII");
  }
  if (end < 0) {
    return data.length >= V1_MAX_LENGTH - 1 ? invalid(`PROXY protocol v1 line longer than ${V1_MAX_LENGTH} bytes`) : INCOMPLETE;
  }
  const length = end + 2;
  const rest = data.subarray(length);
  const line = String.fromCharCode(...data.subarray(0, end));
  const fields = line.split(" ");
  if (fields[1] === "UNKNOWN") return { status: "done", header: { version: 1, command: "PROXY", length }, rest };
  if (fields.length !== 6) return invalid("PROXY protocol v1 line does not have 6 fields");
  const [, family, src, dst, srcPort, dstPort] = fields as [string, string, string, string, string, string];
  if (family !== "TCP4" && family !== "TCP6") return invalid(`unknown PROXY protocol v1 family '${family}'`);
  const parseAddress = family === "TCP4" ? parseIPv4 : parseIPv6;
  const format = family === "TCP4" ? formatIPv4 : formatIPv6;
  const srcBytes = parseAddress(src);
  const dstBytes = parseAddress(dst);
  if (srcBytes === undefined || dstBytes === undefined) return invalid(`PROXY protocol v1 line has a bad ${family} address`);
  const sp = parsePort(srcPort);
  const dp = parsePort(dstPort);
  if (sp === undefined || dp === undefined) return invalid("PROXY protocol v1 line has a bad port");
  const header: ProxyHeader = {
    version: 1,
    command: "PROXY",
    source: tcpAddress(format(srcBytes), sp),
    destination: tcpAddress(format(dstBytes), dp),
    length,
  };
  return { status: "done", header, rest };
}

const DECIMAL = /^(0|[1-9]\d{0,4})$/;

function parsePort(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      // A dotted IPv4 tail (::ffff:1.2.3.4), as inet_pton (and so HAProxy) accepts.
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece);
        if (v4 === undefined) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) out.push(parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 2 ? head.length + tail.length > 7 : head.length !== 8) return undefined;
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * Formats 16 bytes as RFC 5952 text (lower case, longest zero run as `::`), with a
 * dotted tail for IPv4-mapped addresses, as the runtimes report peers.
 *
 * @param bytes The address in network byte order.
 * @returns The address as text, e.g. `::1` or `2001:db8::1`.
 */
export function formatIPv6(bytes: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${formatIPv4(bytes.subarray(12))}`;
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLength))}`;
}
