import type { Address } from "../transport/address.ts";
import { Factory } from "../transport/factory.ts";
import { Protocol } from "../transport/protocol.ts";

/**
 * Writes back whatever it receives, as Twisted's classic `Echo`. When the peer
 * half-closes, everything received has already been written, and the inherited
 * `readConnectionLost` closes the connection once it has been sent.
 *
 * @example
 * ```ts
 * import { EchoProtocol } from "./echo.ts";
 * import { MemoryTransport } from "../transport/memory_transport.ts";
 * const t = new MemoryTransport();
 * t.connect(new EchoProtocol());
 * t.receive("ping");
 * t.text(); // "ping"
 * ```
 */
export class EchoProtocol extends Protocol {
  /** Echo writes each chunk at once and keeps none: reads may reuse one buffer. */
  override keepsData = false;

  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
    if (this.factory instanceof EchoFactory) this.factory.bytesEchoed += data.length;
  }
}

/** Builds an {@link EchoProtocol} for every connection, as Twisted's `EchoFactory`, and counts them. */
export class EchoFactory extends Factory<EchoProtocol> {
  override protocol = EchoProtocol;
  /** Connections built so far. */
  connectionsServed = 0;
  /** Bytes echoed so far, over all connections. */
  bytesEchoed = 0;

  override buildProtocol(addr: Address): EchoProtocol | null {
    this.connectionsServed++;
    return super.buildProtocol(addr);
  }
}
