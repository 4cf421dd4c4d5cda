/**
 * The `node:dgram` UDP adapter. Native on Node; Bun and Deno run it through their
 * Node compatibility layers.
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";
import { listenError } from "../../src/transport/listen_options.ts";
import {
  type DatagramListenOptions,
  DatagramPort,
  type DatagramSocket,
  resolveDatagramOptions,
} from "../../src/udp/datagram_port.ts";
import { type DatagramProtocol, udpAddress } from "../../src/udp/datagram_protocol.ts";

/** The adapter's name, as printed on start. */
export const name = "node:dgram";

class NodeDatagramSocket implements DatagramSocket {
  port!: DatagramPort;
  readonly #sock: dgram.Socket;
  readonly #failed = (error: Error | null) => {
    if (error) this.port.sendFailed();
  };

  constructor(sock: dgram.Socket) {
    this.#sock = sock;
  }

  // node:dgram queues the datagram and reports failure (e.g. EMSGSIZE) to the callback.
  send(data: Uint8Array, host: string, port: number): boolean {
    this.#sock.send(data, port, host, this.#failed);
    return true;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#sock.close(() => resolve()));
  }
}

/**
 * Binds a UDP socket with `node:dgram` and serves `protocol` on it.
 *
 * @param protocol The protocol; its `startProtocol` runs once bound.
 * @param options Address and error reporting.
 * @returns The bound port.
 * @throws {RangeError} For a port out of range.
 * @throws {ListenError} If the address cannot be bound.
 * @example
 * ```ts
 * import { listenUDP } from "./udp.ts";
 * import { EchoDatagramProtocol } from "../../src/mod.ts";
 * const port = await listenUDP(new EchoDatagramProtocol(), { port: 0 });
 * await port.close();
 * ```
 */
export async function listenUDP(protocol: DatagramProtocol, options: DatagramListenOptions = {}): Promise<DatagramPort> {
  const { host, port } = resolveDatagramOptions(options);
  const sock = dgram.createSocket({ type: net.isIPv6(host) ? "udp6" : "udp4", reuseAddr: false });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind({ port, address: host, exclusive: true }, () => {
        sock.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    sock.close();
    throw listenError(host, port, error);
  }
  const socket = new NodeDatagramSocket(sock);
  const bound = new DatagramPort(socket, udpAddress(host, sock.address().port), protocol, options);
  socket.port = bound;
  sock.on("message", (data, rinfo) => bound.received(data, rinfo.address, rinfo.port));
  // Errors after binding concern one datagram (an ICMP error for an earlier send); UDP goes on.
  sock.on("error", () => bound.sendFailed());
  return bound;
}
