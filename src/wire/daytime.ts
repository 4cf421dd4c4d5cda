import { Factory } from "../transport/factory.ts";
import { Protocol } from "../transport/protocol.ts";

/**
 * Sends the date and time as one line and closes, as RFC 867 and Twisted's `wire.Daytime`.
 * RFC 867 leaves the format open; this is the HTTP date (`Tue, 03 Jun 2025 12:00:00 GMT`),
 * in UTC so that the answer does not depend on the server's time zone.
 *
 * @example
 * ```ts
 * import { DaytimeProtocol } from "./daytime.ts";
 * import { MemoryTransport } from "../transport/memory_transport.ts";
 * const t = new MemoryTransport();
 * const p = new DaytimeProtocol();
 * p.now = () => new Date(0);
 * t.connect(p);
 * t.text(); // "Thu, 01 Jan 1970 00:00:00 GMT\r\n"
 * ```
 */
export class DaytimeProtocol extends Protocol {
  /** The clock; replace it to test. */
  now: () => Date = () => new Date();

  override keepsData = false;

  override connectionMade(): void {
    this.transport.write(`${this.now().toUTCString()}\r\n`);
    this.transport.loseConnection();
  }
}

/** Builds a {@link DaytimeProtocol} for every connection. */
export class DaytimeFactory extends Factory<DaytimeProtocol> {
  override protocol = DaytimeProtocol;
}
