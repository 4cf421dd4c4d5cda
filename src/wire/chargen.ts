import { Factory } from "../transport/factory.ts";
import { Protocol } from "../transport/protocol.ts";
import type { Producer } from "../transport/transport.ts";

const LINE = 72;
const PRINTABLE = 95;

/**
 * RFC 864's pattern: 72 printable characters a line, each line starting one character further
 * into the 95 printable ASCII characters, CRLF after each; after 95 lines it repeats exactly.
 */
function cycle(): Uint8Array {
  const out = new Uint8Array(PRINTABLE * (LINE + 2));
  let at = 0;
  for (let line = 0; line < PRINTABLE; line++) {
    for (let i = 0; i < LINE; i++) out[at++] = 0x20 + ((line + i) % PRINTABLE);
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  return out;
}

const CYCLE = cycle();
/** How much one turn of the event loop writes at most, so that a peer that takes everything cannot starve the others. */
const PER_TURN = 64 * 1024;

/**
 * Sends RFC 864's character pattern for as long as the peer reads it, and ignores what the peer
 * sends, as Twisted's `wire.Chargen`. It is a producer registered with its transport: while the
 * transport's queue is above its high-water mark it writes nothing, so a peer that does not read
 * costs the server one queue's worth of memory, never more.
 *
 * @example
 * ```ts
 * import { ChargenProtocol } from "./chargen.ts";
 * import { MemoryTransport } from "../transport/memory_transport.ts";
 * const t = new MemoryTransport({ writeLimit: 74 });
 * t.connect(new ChargenProtocol());
 * t.text().startsWith(" !\"#$%&'()*+,-./0123456789"); // true: the first 74 bytes of the pattern
 * t.abortConnection();
 * ```
 */
export class ChargenProtocol extends Protocol implements Producer {
  override keepsData = false;
  #paused = false;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  override connectionMade(): void {
    this.transport.registerProducer(this);
    this.#produce();
  }

  override connectionLost(): void {
    this.stopProducing();
  }

  /** Stops writing until {@link resumeProducing}; called by the transport above its high-water mark. */
  pauseProducing(): void {
    this.#paused = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Writes again; called by the transport once its queue is at its low-water mark. */
  resumeProducing(): void {
    if (this.#stopped || !this.#paused) return;
    this.#paused = false;
    this.#schedule();
  }

  /** Stops for good: the connection is closing. */
  stopProducing(): void {
    this.#stopped = true;
    this.pauseProducing();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#paused || this.#stopped || this.transport.disconnecting) return;
    this.#timer = setTimeout(() => this.#produce(), 0);
  }

  #produce(): void {
    this.#timer = undefined;
    let written = 0;
    // write() pauses this producer at once when the queue passes the high-water mark, which ends the loop.
    while (written < PER_TURN && !this.#paused && !this.#stopped && !this.transport.disconnecting) {
      // Whole cycles only, so that the stream is one unbroken pattern.
      this.transport.write(CYCLE);
      written += CYCLE.length;
    }
    if (this.factory instanceof ChargenFactory) this.factory.bytesSent += written;
    this.#schedule();
  }
}

/** Builds a {@link ChargenProtocol} for every connection and counts what they queued. */
export class ChargenFactory extends Factory<ChargenProtocol> {
  override protocol = ChargenProtocol;
  /** Bytes handed to transports so far, over all connections. */
  bytesSent = 0;
}
