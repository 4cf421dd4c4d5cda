import { ByteBuffer } from "./byte_buffer.ts";
import { NetstringParseError, showBytes } from "./framing_error.ts";
import { Protocol } from "../transport/protocol.ts";

const COLON = 0x3a;
const COMMA = 0x2c;
const encoder = new TextEncoder();

/**
 * Frames `data` as a netstring: `5:hello,`.
 *
 * @param data The payload; a string is sent as UTF-8.
 * @returns The netstring's bytes.
 */
export function formatNetstring(data: Uint8Array | string): Uint8Array {
  const payload = typeof data === "string" ? encoder.encode(data) : data;
  const head = encoder.encode(`${payload.length}:`);
  const out = new Uint8Array(head.length + payload.length + 1);
  out.set(head);
  out.set(payload, head.length);
  out[out.length - 1] = COMMA;
  return out;
}

/**
 * A protocol that sends and receives netstrings (`<length>:<bytes>,`, see
 * https://cr.yp.to/proto/netstrings.txt), as Twisted's `basic.NetstringReceiver`.
 * Anything that is not a netstring (a length that is not a decimal number or has a
 * leading zero, a missing comma) closes the connection with a
 * {@link NetstringParseError} saying what was wrong; a length over `maxLength` calls
 * `lengthLimitExceeded`, which does the same.
 *
 * @example
 * ```ts
 * import { NetstringReceiver } from "./netstring_receiver.ts";
 * import { MemoryTransport } from "../transport/memory_transport.ts";
 * class Reverse extends NetstringReceiver {
 *   override stringReceived(data: Uint8Array): void {
 *     this.sendString(data.toReversed());
 *   }
 * }
 * const t = new MemoryTransport();
 * t.connect(new Reverse());
 * t.receive("3:abc,");
 * t.text(); // "3:cba,"
 * ```
 */
export class NetstringReceiver extends Protocol {
  /**
   * The longest payload accepted, in bytes, as Twisted's `MAX_LENGTH`.
   * @default 99999
   */
  maxLength = 99999;
  /** Whether the peer has sent something that is not a netstring, as Twisted's `brokenPeer`. */
  brokenPeer = false;
  readonly #buffer = new ByteBuffer();
  // The payload length being read, or -1 while reading a length.
  #expected = -1;

  /**
   * Parses netstrings out of `data`. Called by the transport.
   *
   * @param data The bytes read.
   */
  override dataReceived(data: Uint8Array): void {
    if (this.brokenPeer) return;
    const buffer = this.#buffer;
    buffer.append(data);
    while (buffer.length > 0 && !this.brokenPeer && !this.transport.disconnecting) {
      if (this.#expected === -1) {
        if (!this.#readLength()) return;
        continue;
      }
      if (buffer.length < this.#expected + 1) return;
      const payload = buffer.take(this.#expected);
      const comma = buffer.take(1)[0];
      this.#expected = -1;
      if (comma !== COMMA) {
        this.#fail(`Netstring of ${payload.length} bytes not terminated by a comma: got ${showBytes(Uint8Array.of(comma!))}`);
        return;
      }
      this.stringReceived(payload);
    }
  }

  // Reads "<digits>:" from the buffer; false if more bytes are needed or the peer is broken.
  #readLength(): boolean {
    const held = this.#buffer.view();
    // More digits than maxLength has cannot be a length we accept, whatever follows.
    const most = String(this.maxLength).length;
    let i = 0;
    while (i < held.length && i <= most && held[i]! >= 0x30 && held[i]! <= 0x39) i++;
    if (i === 0) {
      this.#fail(`Netstring does not start with a length: got ${showBytes(held.subarray(0, 1))}`);
      return false;
    }
    if (held[0] === 0x30 && i > 1) {
      this.#fail(`Netstring length has a leading zero: got ${showBytes(held.subarray(0, 2))}`);
      return false;
    }
    const digits = new TextDecoder().decode(held.subarray(0, i));
    if (i > most || Number(digits) > this.maxLength) {
      this.brokenPeer = true;
      this.lengthLimitExceeded(Number(digits));
      return false;
    }
    if (i === held.length) return false;
    if (held[i] !== COLON) {
      this.#fail(`Netstring length is not followed by ':': got ${showBytes(held.subarray(i, i + 1))}`);
      return false;
    }
    this.#buffer.take(i + 1);
    this.#expected = Number(digits);
    return true;
  }

  #fail(message: string): void {
    this.brokenPeer = true;
    this.#buffer.clear();
    this.transport.loseConnection(new NetstringParseError(message));
  }

  /**
   * Called with each netstring's payload. Override it.
   *
   * @param _data The payload; the protocol's to keep.
   */
  stringReceived(_data: Uint8Array): void {}

  /**
   * Sends `data` as a netstring.
   *
   * @param data The payload; a string is sent as UTF-8.
   */
  sendString(data: Uint8Array | string): void {
    this.transport.write(formatNetstring(data));
  }

  /**
   * Called when a netstring's length is over `maxLength`. By default it closes the
   * connection with a {@link NetstringParseError} that says so.
   *
   * @param length The length the peer announced (at least `maxLength + 1`; digits past
   * what `maxLength` has are not read).
   */
  lengthLimitExceeded(length: number): void {
    this.#buffer.clear();
    this.transport.loseConnection(
      new NetstringParseError(`Netstring length ${length} exceeds the maximum of ${this.maxLength}`),
    );
  }
}
