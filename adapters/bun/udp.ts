/**
 * The Bun UDP adapter, on `Bun.udpSocket`.
 *
 * @module
 */
import { listenError } from "../../src/transport/listen_options.ts";
import {
  type DatagramListenOptions,
  DatagramPort,
  type DatagramSocket,
  resolveDatagramOptions,
} from "../../src/udp/datagram_port.ts";
import { type DatagramProtocol, udpAddress } from "../../src/udp/datagram_protocol.ts";

/** The adapter's name, as printed on start. */
export const name = "bun";

/** The slice of Bun's UDP socket this adapter uses. */
interface BunUdpSocket {
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
  readonly hostname: string;
  readonly port: number;
}

interface BunUdpApi {
  udpSocket(options: {
    hostname: string;
    port: number;
    binaryType: "uint8array";
    socket: {
      data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void;
      error(socket: BunUdpSocket, error: Error): void;
    };
  }): Promise<BunUdpSocket>;
}

class BunDatagramSocket implements DatagramSocket {
  readonly #sock: BunUdpSocket;

  constructor(sock: BunUdpSocket) {
    this.#sock = sock;
  }

  // Bun throws for EMSGSIZE and the like, and returns false when its buffer is full; the port counts both.
  send(data: Uint8Array, host: string, port: number): boolean {
    try {
      return this.#sock.send(data, port, host);
    } catch (error) {
      // Bun arms IP_RECVERR, so an ICMP error for an earlier datagram (a peer that has
      // gone) can fail this send instead, once (oven-sh/bun #36249): try once more.
      if ((error as { code?: string }).code !== "ECONNREFUSED") throw error;
      return this.#sock.send(data, port, host);
    }
  }

  close(): void {
    this.#sock.close();
  }
}

/**
 * Binds a UDP socket with `Bun.udpSocket` and serves `protocol` on it.
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
  const api = (globalThis as { Bun?: BunUdpApi }).Bun;
  if (api === undefined) throw new TypeError("Cannot use the bun UDP adapter: not running on Bun");
  let bound: DatagramPort | undefined;
  let sock: BunUdpSocket;
  try {
    sock = await api.udpSocket({
      hostname: host,
      port,
      binaryType: "uint8array",
      socket: {
        data(_socket, data, fromPort, fromHost) {
          bound?.received(data, fromHost, fromPort);
        },
        // Without a handler Bun makes the ICMP "port unreachable" sent back by a client
        // that closed before its reply an uncaught exception, ending the process
        // (oven-sh/bun #35922). For UDP it only says an earlier datagram went nowhere.
        error() {
          bound?.sendFailed();
        },
      },
    });
  } catch (error) {
    throw listenError(host, port, error);
  }
  bound = new DatagramPort(new BunDatagramSocket(sock), udpAddress(host, sock.port), protocol, options);
  return bound;
}
