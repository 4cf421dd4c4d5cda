import { ByteBuffer, indexOfBytes } from "./byte_buffer.ts";
import { FramingError, showBytes } from "./framing_error.ts";
import { DelimiterCache, delimiterBytes } from "./line_receiver.ts";
import { Protocol } from "../transport/protocol.ts";

/**
 * A protocol that receives only lines, as Twisted's `basic.LineOnlyReceiver`: a
 * leaner {@link LineReceiver} with no raw mode and no pausing. Lines after one
 * that closed the connection are not delivered.
 *
 * @example
 * ```ts
 * import { LineOnlyReceiver } from "./line_only_receiver.ts";
 * import { MemoryTransport } from "../transport/memory_transport.ts";
 * class Quit extends LineOnlyReceiver {
 *   override lineReceived(line: Uint8Array): void {
 *     if (new TextDecoder().decode(line) === "QUIT") this.transport.loseConnection();
 *   }
 * }
 * const t = new MemoryTransport();
 * t.connect(new Quit());
 * t.receive("QUIT\r\n");
 * t.disconnecting; // true
 * ```
 */
export class LineOnlyReceiver extends Protocol {
  /**
   * What ends a line.
   * @default "\r\n"
   */
  delimiter: Uint8Array | string = "\r\n";
  /**
   * The longest line accepted, in bytes without the delimiter; past it `lineLengthExceeded` runs.
   * @default 16384
   */
  maxLength = 16384;
  readonly #buffer = new ByteBuffer();
  #searched = 0;
  readonly #delimiter = new DelimiterCache();

  /**
   * Splits `data` into lines. Called by the transport.
   *
   * @param data The bytes read.
   */
  override dataReceived(data: Uint8Array): void {
    if (this.#delimiter.update(this.delimiter)) this.#searched = 0;
    const delimiter = this.#delimiter.bytes;
    const buffer = this.#buffer;
    buffer.append(data);
    for (;;) {
      const at = indexOfBytes(buffer.view(), delimiter, this.#searched);
      if (at === -1) break;
      this.#searched = 0;
      if (this.transport.disconnecting) return;
      const line = buffer.take(at);
      buffer.take(delimiter.length);
      if (line.length > this.maxLength) {
        // What came with the long line is dropped, not held for the next read, as
        // LineReceiver does: an override that keeps the connection open starts afresh.
        buffer.takeAll();
        this.lineLengthExceeded(line);
        return;
      }
      this.lineReceived(line);
    }
    // A line of exactly maxLength may be waiting for the rest of its delimiter.
    if (buffer.length >= this.maxLength + delimiter.length) {
      // The search offset belongs to the bytes dropped here; kept, it would skip delimiters read later.
      this.#searched = 0;
      this.lineLengthExceeded(buffer.takeAll());
      return;
    }
    this.#searched = Math.max(0, buffer.length - delimiter.length + 1);
  }

  /**
   * Called with each line, without its delimiter. Override it.
   *
   * @param _line The line's bytes; the protocol's to keep.
   */
  lineReceived(_line: Uint8Array): void {}

  /**
   * Sends `line` followed by the delimiter, in one write.
   *
   * @param line The line, without the delimiter; a string is sent as UTF-8.
   */
  sendLine(line: Uint8Array | string): void {
    this.transport.writeSequence([line, this.delimiter]);
  }

  /**
   * Called when a line is longer than `maxLength`. By default it closes the
   * connection with a {@link FramingError} that says so. An override that keeps the
   * connection open goes on with the next read: what was held with the long line is dropped.
   *
   * @param _line The long line, or its start.
   */
  lineLengthExceeded(_line: Uint8Array): void {
    this.transport.loseConnection(
      new FramingError(
        `Line too long: more than ${this.maxLength} bytes before the delimiter ${showBytes(delimiterBytes(this.delimiter))}`,
      ),
    );
  }
}
