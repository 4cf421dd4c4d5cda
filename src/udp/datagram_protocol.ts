/** The address of a UDP endpoint, as Twisted's `IPv4Address("UDP", …)`. */
export interface DatagramAddress {
  /** Always `"UDP"`. */
  readonly type: "UDP";
  /** The IP address, without brackets for IPv6. */
  readonly host: string;
  /** The port number. */
  readonly port: number;
}

/**
 * Builds a {@link DatagramAddress}.
 *
 * @param host The IP address.
 * @param port The port number.
 * @returns The address.
 */
export function udpAddress(host: string, port: number): DatagramAddress {
  return { type: "UDP", host, port };
}

/**
 * What a {@link DatagramProtocol} writes to: one bound UDP socket, as Twisted's
 * `IUDPTransport`. Writes never block and never throw: a datagram the socket
 * cannot send (too big, no route, the socket's buffer full) is dropped and counted,
 * as UDP drops datagrams anyway.
 */
export interface DatagramTransport {
  /**
   * Sends one datagram.
   *
   * @param data The datagram; a string is sent as UTF-8.
   * @param address Where to send it.
   */
  write(data: Uint8Array | string, address: Pick<DatagramAddress, "host" | "port">): void;
  /** @returns The address this socket is bound to. */
  getHost(): DatagramAddress;
  /** Closes the socket; `stopProtocol()` runs. Safe to call twice. */
  stopListening(): Promise<void>;
}

/**
 * The base class of a UDP service, as Twisted's `protocol.DatagramProtocol`.
 * One instance serves the whole socket: datagrams from every peer arrive at
 * `datagramReceived` with the sender's address.
 *
 * @example
 * ```ts
 * import { DatagramProtocol, type DatagramAddress } from "./datagram_protocol.ts";
 * class Shout extends DatagramProtocol {
 *   override datagramReceived(data: Uint8Array, address: DatagramAddress): void {
 *     this.transport.write(new TextDecoder().decode(data).toUpperCase(), address);
 *   }
 * }
 * ```
 */
export class DatagramProtocol {
  /** The socket this protocol writes to; set by `makeConnection`. */
  transport!: DatagramTransport;

  /**
   * Attaches the transport and calls `startProtocol()`. Called by the listening port.
   *
   * @param transport The socket.
   */
  makeConnection(transport: DatagramTransport): void {
    this.transport = transport;
    this.startProtocol();
  }

  /** Called once the socket is bound and `this.transport` is set. */
  startProtocol(): void {}

  /** Called once when the socket has closed. */
  stopProtocol(): void {}

  /**
   * Called with each datagram read.
   *
   * @param _data The datagram; the protocol's to keep.
   * @param _address The sender.
   */
  datagramReceived(_data: Uint8Array, _address: DatagramAddress): void {}
}
