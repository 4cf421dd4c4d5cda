import { BaseLineReceiver } from "./line_receiver.ts";

// Each line is a whole text of its own, so a U+FEFF at its start is data, not a byte order
// mark of the stream: the default decoder would strip it from every line.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * A {@link LineReceiver} that hands over each line as text. Lines are split on the
 * delimiter's bytes first and each whole line is then decoded as UTF-8, so a
 * character split across two reads (`é` arriving one byte at a time) comes out whole.
 * Bytes that are not valid UTF-8 become U+FFFD; a U+FEFF is kept, wherever it is. Raw mode still delivers bytes.
 *
 * @example
 * ```ts
 * import { TextLineReceiver } from "./text_line_receiver.ts";
 * import { MemoryTransport } from "../transport/memory_transport.ts";
 * class Upper extends TextLineReceiver {
 *   override delimiter = "\n";
 *   override lineReceived(line: string): void {
 *     this.sendLine(line.toUpperCase());
 *   }
 * }
 * const t = new MemoryTransport();
 * t.connect(new Upper());
 * for (const byte of new TextEncoder().encode("é\n")) t.receive(Uint8Array.of(byte));
 * t.text(); // "É\n"
 * ```
 */
export class TextLineReceiver extends BaseLineReceiver {
  protected override deliverLine(line: Uint8Array): void {
    this.lineReceived(decoder.decode(line));
  }

  /**
   * Called with each line, decoded, without its delimiter. Override it.
   *
   * @param _line The line.
   */
  lineReceived(_line: string): void {}
}
