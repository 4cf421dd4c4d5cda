import { Factory } from "../transport/factory.ts";
import { Protocol } from "../transport/protocol.ts";

/**
 * Reads and throws away whatever it receives and sends nothing, as RFC 863 and Twisted's `wire.Discard`.
 *
 * @example
 * ```ts
 * import { DiscardProtocol } from "./discard.ts";
 * import { MemoryTransport } from "../transport/memory_transport.ts";
 * const t = new MemoryTransport();
 * t.connect(new DiscardProtocol());
 * t.receive("ignored");
 * t.text(); // ""
 * ```
 */
export class DiscardProtocol extends Protocol {
  /** Nothing is kept: reads may reuse one buffer. */
  override keepsData = false;

  override dataReceived(data: Uint8Array): void {
    if (this.factory instanceof DiscardFactory) this.factory.bytesDiscarded += data.length;
  }
}

/** Builds a {@link DiscardProtocol} for every connection and counts what they discarded. */
export class DiscardFactory extends Factory<DiscardProtocol> {
  override protocol = DiscardProtocol;
  /** Bytes received and thrown away so far, over all connections. */
  bytesDiscarded = 0;
}
