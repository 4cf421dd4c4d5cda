import { ByteBuffer } from "./byte_buffer.ts";
import { FramingError } from "./framing_error.ts";
import { PausableProtocol } from "./pausable_protocol.ts";

const encoder = new TextEncoder();

/**
 * A protocol of length-prefixed messages, as Twisted's `basic.IntNStringReceiver`:
 * each message is an unsigned big-endian length of `prefixLength` bytes, then that
 * many bytes. Use {@link Int32StringReceiver}, {@link Int16StringReceiver} or
 * {@link Int8StringReceiver}. A length over `maxLength` calls `lengthLimitExceeded`,
 * which closes the connection with a {@link FramingError} saying so.
 */
export abstract class IntNStringReceiver extends PausableProtocol {
  /** Bytes in the length prefix: 1, 2 or 4. */
  abstract readonly prefixLength: 1 | 2 | 4;
  /**
   * The longest message accepted, in bytes, as Twisted's `MAX_LENGTH`.
   * @default 99999
   */
  maxLength = 99999;
  readonly #buffer = new ByteBuffer();
  #busy = false;

  /**
   * Splits `data` into messages. Called by the transport.
   *
   * @param data The bytes read.
   */
  override dataReceived(data: Uint8Array): void {
    const buffer = this.#buffer;
    buffer.append(data);
    if (this.#busy) return;
    this.#busy = true;
    try {
      const n = this.prefixLength;
      while (buffer.length >= n && !this.paused && !this.transport.disconnecting) {
        const held = buffer.view();
        let length = 0;
        for (let i = 0; i < n; i++) length = length * 256 + held[i]!;
        if (length > this.maxLength) {
          this.lengthLimitExceeded(length);
          return;
        }
        if (held.length < n + length) return;
        buffer.take(n);
        this.stringReceived(buffer.take(length));
      }
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Called with each message, without its prefix. Override it.
   *
   * @param _data The message; the protocol's to keep.
   */
  stringReceived(_data: Uint8Array): void {}

  /**
   * Sends `data` with its length prefix, in one write.
   *
   * @param data The message; a string is sent as UTF-8.
   * @throws {RangeError} If `data` is too long for the prefix (as Twisted's `StringTooLongError`).
   */
  sendString(data: Uint8Array | string): void {
    const payload = typeof data === "string" ? encoder.encode(data) : data;
    const n = this.prefixLength;
    if (payload.length >= 2 ** (8 * n)) {
      throw new RangeError(
        `Cannot send a string of ${payload.length} bytes with a ${n}-byte length prefix: the most is ${2 ** (8 * n) - 1}`,
      );
    }
    const out = new Uint8Array(n + payload.length);
    for (let i = n - 1, len = payload.length; i >= 0; i--, len = Math.floor(len / 256)) out[i] = len % 256;
    out.set(payload, n);
    this.transport.write(out);
  }

  /**
   * Called when a length prefix is over `maxLength`. By default it closes the
   * connection with a {@link FramingError} that says so.
   *
   * @param length The length the peer announced.
   */
  lengthLimitExceeded(length: number): void {
    this.#buffer.clear();
    this.transport.loseConnection(
      new FramingError(`Length prefix ${length} exceeds the maximum of ${this.maxLength} bytes`),
    );
  }

}

/**
 * Messages prefixed by a 32-bit big-endian length, as Twisted's `Int32StringReceiver`.
 *
 * @example
 * ```ts
 * import { Int32StringReceiver } from "./int_string_receiver.ts";
 * import { MemoryTransport } from "../transport/memory_transport.ts";
 * class Echo extends Int32StringReceiver {
 *   override stringReceived(data: Uint8Array): void {
 *     this.sendString(data);
 *   }
 * }
 * const t = new MemoryTransport();
 * t.connect(new Echo());
 * t.receive(Uint8Array.of(0, 0, 0, 2, 104, 105));
 * t.value(); // Uint8Array [0, 0, 0, 2, 104, 105]
 * ```
 */
export class Int32StringReceiver extends IntNStringReceiver {
  readonly prefixLength = 4;
}

/** Messages prefixed by a 16-bit big-endian length, as Twisted's `Int16StringReceiver`. */
export class Int16StringReceiver extends IntNStringReceiver {
  readonly prefixLength = 2;
}

/** Messages prefixed by an 8-bit length, as Twisted's `Int8StringReceiver`. */
export class Int8StringReceiver extends IntNStringReceiver {
  readonly prefixLength = 1;
}
