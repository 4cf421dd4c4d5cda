import type { Address } from "./address.ts";
import { Protocol } from "./protocol.ts";

/**
 * Builds a protocol for each connection, as Twisted's `protocol.Factory`.
 * Set `protocol` to a class, or override `buildProtocol`.
 *
 * @example
 * ```ts
 * import { Factory } from "./factory.ts";
 * import { Protocol } from "./protocol.ts";
 * class Hello extends Protocol {
 *   override connectionMade(): void { this.transport.write("hello\n"); this.transport.loseConnection(); }
 * }
 * const factory = Factory.forProtocol(Hello);
 * ```
 */
export class Factory<P extends Protocol = Protocol> {
  /** The protocol class `buildProtocol` instantiates. */
  protocol: (new () => P) | undefined;
  /** How many listening ports use this factory. */
  numPorts = 0;

  /**
   * Makes a factory that builds `protocol` for every connection.
   *
   * @param protocol The protocol class.
   * @returns The factory.
   */
  static forProtocol<P extends Protocol>(protocol: new () => P): Factory<P> {
    const factory = new Factory<P>();
    factory.protocol = protocol;
    return factory;
  }

  /**
   * Builds the protocol for a new connection. Returning `null` refuses it: the
   * connection is closed at once.
   *
   * @param _addr The peer's address.
   * @returns The protocol, or `null` to refuse.
   * @throws {TypeError} If neither `protocol` nor an override is given.
   */
  buildProtocol(_addr: Address): P | null {
    if (this.protocol === undefined) {
      throw new TypeError("Cannot build a protocol: set factory.protocol or override buildProtocol");
    }
    const p = new this.protocol();
    p.factory = this as unknown as Factory;
    return p;
  }

  /** Called before the first port using this factory starts listening. */
  startFactory(): void {}

  /** Called after the last port using this factory has stopped. */
  stopFactory(): void {}

  /** Counts a port in; calls `startFactory()` for the first. Called by ports. */
  doStart(): void {
    if (this.numPorts++ === 0) this.startFactory();
  }

  /** Counts a port out; calls `stopFactory()` after the last. Called by ports. */
  doStop(): void {
    if (this.numPorts === 0) return;
    if (--this.numPorts === 0) this.stopFactory();
  }
}
