import { ByteBuffer, indexOfBytes } from "./byte_buffer.ts";
import { FramingError, showBytes } from "./framing_error.ts";
import { PausableProtocol } from "./pausable_protocol.ts";

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/**
 * The delimiter as bytes, so a subclass may set `delimiter` to a string.
 *
 * @param delimiter A string (sent as UTF-8) or bytes; not empty.
 * @returns The bytes.
 * @throws {RangeError} If the delimiter is empty.
 */
export function delimiterBytes(delimiter: Uint8Array | string): Uint8Array {
  const bytes = typeof delimiter === "string" ? encoder.encode(delimiter) : delimiter;
  if (bytes.length === 0) throw new RangeError("Cannot split lines on an empty delimiter");
  return bytes;
}

/**
 * A line receiver's `delimiter` property as bytes, encoded again only when the property is
 * set to another value: once per change, not once per chunk read.
 */
export class DelimiterCache {
  #source: Uint8Array | string | undefined;
  #bytes: Uint8Array = EMPTY;

  /** The bytes of the value last given to {@link update}. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /**
   * Takes the property's current value.
   *
   * @param delimiter The `delimiter` property now.
   * @returns Whether it changed since the last call: bytes searched for the old delimiter
   *   held none of it, but may hold the new one or its start, so they must be searched again.
   * @throws {RangeError} If the delimiter is empty.
   */
  update(delimiter: Uint8Array | string): boolean {
    if (delimiter === this.#source) return false;
    this.#bytes = delimiterBytes(delimiter);
    this.#source = delimiter;
    return true;
  }
}

/**
 * What {@link LineReceiver} and {@link TextLineReceiver} share: splitting the
 * stream into lines, raw mode, pausing and the length limit, as Twisted's
 * `basic.LineReceiver`. Subclass one of those two rather than this.
 */
export abstract class BaseLineReceiver extends PausableProtocol {
  /**
   * What ends a line, as Twisted's `delimiter`. Set it in a subclass's field initialiser.
   * @default "\r\n"
   */
  delimiter: Uint8Array | string = "\r\n";
  /**
   * The longest line accepted, in bytes without the delimiter, as Twisted's `MAX_LENGTH`;
   * past it `lineLengthExceeded` runs.
   * @default 16384
   */
  maxLength = 16384;
  /** Whether lines (not raw data) are being delivered, as Twisted's `line_mode`. */
  lineMode = true;
  readonly #buffer = new ByteBuffer();
  #busy = false;
  // How far the held bytes are known to hold no delimiter, so a long line arriving
  // a byte at a time is scanned once, not once per byte.
  #searched = 0;
  readonly #delimiter = new DelimiterCache();

  /** Hands one line (without its delimiter) to the subclass's `lineReceived`. */
  protected abstract deliverLine(line: Uint8Array): void;

  /**
   * Splits `data` into lines (or passes it on in raw mode). Called by the transport.
   *
   * @param data The bytes read.
   */
  override dataReceived(data: Uint8Array): void {
    this.#buffer.append(data);
    // A callback that feeds data back (setLineMode(rest)) only adds to the buffer; the loop below takes it.
    if (this.#busy) return;
    this.#busy = true;
    try {
      this.#deliver();
    } finally {
      this.#busy = false;
    }
  }

  #deliver(): void {
    const buffer = this.#buffer;
    while (buffer.length > 0 && !this.paused) {
      if (!this.lineMode) {
        this.#searched = 0;
        this.rawDataReceived(buffer.takeAll());
        continue;
      }
      const delimiter = this.#delimiterNow();
      const held = buffer.view();
      const at = indexOfBytes(held, delimiter, this.#searched);
      if (at === -1) {
        if (held.length >= this.maxLength + delimiter.length) {
          this.#searched = 0;
          this.lineLengthExceeded(buffer.takeAll());
        } else {
          this.#searched = Math.max(0, held.length - delimiter.length + 1);
        }
        return;
      }
      this.#searched = 0;
      if (at > this.maxLength) {
        this.lineLengthExceeded(buffer.takeAll());
        return;
      }
      const line = buffer.take(at);
      buffer.take(delimiter.length);
      this.deliverLine(line);
      if (this.transport.disconnecting) return;
    }
  }

  #delimiterNow(): Uint8Array {
    if (this.#delimiter.update(this.delimiter)) this.#searched = 0;
    return this.#delimiter.bytes;
  }

  /**
   * Switches to line mode, as Twisted's `setLineMode(extra)`. From `rawDataReceived`,
   * pass the part of the chunk you did not use and it is split into lines first.
   *
   * @param rest Bytes to parse for lines before anything read later.
   */
  setLineMode(rest: Uint8Array | string = EMPTY): void {
    this.lineMode = true;
    const bytes = typeof rest === "string" ? encoder.encode(rest) : rest;
    if (bytes.length > 0) this.dataReceived(bytes);
  }

  /**
   * Switches to raw mode, as Twisted's `setRawMode()`: what follows the current line,
   * and everything read later, goes to `rawDataReceived`.
   */
  setRawMode(): void {
    this.lineMode = false;
  }

  /**
   * Called with raw data in raw mode. Override it if you call `setRawMode()`.
   *
   * @param _data The bytes.
   */
  rawDataReceived(_data: Uint8Array): void {}

  /**
   * Discards the bytes received but not yet delivered, as Twisted's `clearLineBuffer()`.
   *
   * @returns The discarded bytes.
   */
  clearLineBuffer(): Uint8Array {
    this.#searched = 0;
    return this.#buffer.takeAll();
  }

  /**
   * Sends `line` followed by the delimiter, in one write.
   *
   * @param line The line, without the delimiter; a string is sent as UTF-8.
   */
  sendLine(line: Uint8Array | string): void {
    this.transport.writeSequence([line, this.#delimiterNow()]);
  }

  /**
   * Called when a line is longer than `maxLength`, as Twisted's `lineLengthExceeded`.
   * By default it closes the connection (after sending what is queued), with a
   * {@link FramingError} that says so as the reason.
   *
   * @param _line Everything that was held: the long line (or its start) and what followed.
   */
  lineLengthExceeded(_line: Uint8Array): void {
    this.transport.loseConnection(
      new FramingError(
        `Line too long: more than ${this.maxLength} bytes before the delimiter ${showBytes(this.#delimiterNow())}`,
      ),
    );
  }

}

/**
 * A protocol that receives lines and/or raw data, as Twisted's `basic.LineReceiver`.
 * Lines are split on `delimiter` (default `\r\n`) whatever the chunking, and handed to
 * `lineReceived` as bytes; `setRawMode()` / `setLineMode(rest)` switch mid-stream.
 * A line over `maxLength` calls `lineLengthExceeded`, which closes the connection.
 * For lines as text, use {@link TextLineReceiver}.
 *
 * @example
 * ```ts
 * import { LineReceiver } from "./line_receiver.ts";
 * import { MemoryTransport } from "../transport/memory_transport.ts";
 * class Count extends LineReceiver {
 *   override delimiter = "\n";
 *   override lineReceived(line: Uint8Array): void {
 *     this.sendLine(String(line.length));
 *   }
 * }
 * const t = new MemoryTransport();
 * t.connect(new Count());
 * t.receive("ab");
 * t.receive("c\nde\n");
 * t.text(); // "3\n2\n"
 * ```
 */
export class LineReceiver extends BaseLineReceiver {
  protected override deliverLine(line: Uint8Array): void {
    this.lineReceived(line);
  }

  /**
   * Called with each line, without its delimiter. Override it.
   *
   * @param _line The line's bytes; the protocol's to keep.
   */
  lineReceived(_line: Uint8Array): void {}
}
