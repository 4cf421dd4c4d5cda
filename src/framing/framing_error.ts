import { ConnectionLost } from "../transport/errors.ts";

/**
 * The peer broke the framing: a line or message over the limit, or bytes that are
 * not a valid frame. The framing receivers close the connection with it, so
 * `connectionLost` says what was wrong.
 *
 * @example
 * ```ts
 * import { FramingError } from "./framing_error.ts";
 * const reason = new FramingError("Line too long: 16385 bytes without a delimiter, the most is 16384");
 * reason.message; // says what the peer sent
 * ```
 */
export class FramingError extends ConnectionLost {
  /** @param message What the peer sent that was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "FramingError";
  }
}

/**
 * The peer sent something that is not a netstring, as Twisted's `NetstringParseError`.
 *
 * @example
 * ```ts
 * import { NetstringParseError } from "./framing_error.ts";
 * new NetstringParseError("Netstring not terminated by a comma: got 'x'").name; // "NetstringParseError"
 * ```
 */
export class NetstringParseError extends FramingError {
  /** @param message What was wrong with the netstring. */
  constructor(message: string) {
    super(message);
    this.name = "NetstringParseError";
  }
}

/**
 * Shows up to `max` bytes as text for an error message, escaping what is not printable ASCII.
 *
 * @param bytes The bytes.
 * @param max How many to show.
 * @returns e.g. `'-5:'` or `'\x00\xff…'`.
 */
export function showBytes(bytes: Uint8Array, max = 16): string {
  let out = "";
  for (const b of bytes.subarray(0, max)) {
    out += b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `'${out}${bytes.length > max ? "…" : ""}'`;
}
