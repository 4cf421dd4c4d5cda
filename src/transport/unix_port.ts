import { type Address, unixAddress } from "./address.ts";
import type { Connection } from "./connection.ts";
import { Port } from "./port.ts";
import type { Socket } from "./socket.ts";

/**
 * A listening port on a Unix domain socket: a {@link Port} whose connections report
 * Unix addresses (the socket's path as this end, an unnamed peer), whatever the
 * adapter's accept loop passes, so the adapters share their TCP accept loops.
 */
export class UnixPort extends Port {
  /**
   * Takes an accepted socket, as {@link Port.accept}, with Unix addresses.
   *
   * @param socket The adapter's socket.
   * @param _peer Ignored: a Unix peer is unnamed.
   * @param _host Ignored: this end is the port's path.
   * @param attach Routes the socket's events to the connection.
   * @returns The connection.
   */
  override accept(socket: Socket, _peer: Address, _host: Address, attach: (connection: Connection, socket: Socket) => void): Connection {
    return super.accept(socket, UNNAMED, this.address, attach);
  }
}

const UNNAMED = unixAddress("");
