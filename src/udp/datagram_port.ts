import { formatAddress } from "../transport/address.ts";
import { defaultLog, type LogFunction } from "../transport/log_event.ts";
import { type DatagramAddress, type DatagramProtocol, type DatagramTransport, udpAddress } from "./datagram_protocol.ts";

/** The largest UDP payload over IPv4: 65,535 less the IP and UDP headers. */
export const MAX_DATAGRAM_SIZE = 65_507;

/** The small interface a UDP adapter implements; the core does the rest. */
export interface DatagramSocket {
  /**
   * Sends one datagram without blocking. May throw; a failure that comes later is
   * reported to `DatagramPort.sendFailed`.
   *
   * @returns `false` if the socket dropped it (its buffer is full).
   */
  send(data: Uint8Array, host: string, port: number): boolean;
  /** Closes the socket. */
  close(): void | Promise<void>;
}

/** Options of `listenUDP`. */
export interface DatagramListenOptions {
  /**
   * The port to bind; 0 picks a free one.
   * @default 8000
   */
  port?: number;
  /**
   * The address to bind.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Called when `datagramReceived` throws; the socket goes on serving.
   * @default logs one line with the sender's address to `log`
   */
  onError?: (error: unknown, sender: DatagramAddress) => void;
  /**
   * Where the port reports what it does on its own: each line, and the same as a `LogEvent`.
   * @default console.error, the line alone
   */
  log?: LogFunction;
}

/**
 * A snapshot of one UDP socket's counters, as `DatagramPort.metrics()` returns it: a frozen
 * object of numbers. What a protocol decides not to answer it counts itself (see
 * `EchoDatagramProtocol.metrics()`).
 */
export interface DatagramPortMetrics {
  /** Datagrams read. */
  readonly datagramsReceived: number;
  /** Bytes of the datagrams read. */
  readonly bytesReceived: number;
  /** Datagrams handed to the socket for sending. */
  readonly datagramsSent: number;
  /** Bytes of the datagrams handed to the socket. */
  readonly bytesSent: number;
  /** Datagrams dropped on sending: too big, refused by the socket, or failed. */
  readonly sendDrops: number;
}

/** A bound UDP socket, as returned by `listenUDP`. */
export interface ListeningDatagramPort {
  /** The bound address (with the real port when 0 was asked for). */
  readonly address: DatagramAddress;
  /** Datagrams dropped on sending: too big, refused by the socket, or failed. */
  readonly sendDrops: number;
  /**
   * What the socket has counted so far: datagrams and bytes received and sent, and sends dropped.
   *
   * @returns A frozen snapshot, a new object each call.
   */
  metrics(): DatagramPortMetrics;
  /** Closes the socket; `stopProtocol()` runs. */
  close(): Promise<void>;
}

function reportTo(log: LogFunction, endpoint: string): (error: unknown, sender: DatagramAddress) => void {
  return (error, sender) => {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const peer = formatAddress(sender);
    log(`Protocol error on datagram from ${peer}: ${message}`, {
      event: "datagram_protocol_error",
      level: "error",
      endpoint: `udp:${endpoint}`,
      peer,
      fields: { error: message },
    });
  };
}

const encoder = new TextEncoder();

/**
 * One bound UDP socket: the {@link DatagramTransport} a protocol writes to, driven
 * by an adapter's {@link DatagramSocket}, so every runtime drops, counts and
 * reports errors alike.
 */
export class DatagramPort implements DatagramTransport, ListeningDatagramPort {
  /** {@inheritDoc ListeningDatagramPort.address} */
  readonly address: DatagramAddress;
  /** {@inheritDoc ListeningDatagramPort.sendDrops} */
  sendDrops = 0;
  #received = 0;
  #bytesReceived = 0;
  #sent = 0;
  #bytesSent = 0;
  readonly #socket: DatagramSocket;
  readonly #protocol: DatagramProtocol;
  readonly #onError: (error: unknown, sender: DatagramAddress) => void;
  #closing: Promise<void> | undefined;

  /**
   * @param socket The adapter's bound socket.
   * @param address The bound address.
   * @param protocol The protocol to feed; its `makeConnection` runs at once.
   * @param options Error reporting.
   */
  constructor(socket: DatagramSocket, address: DatagramAddress, protocol: DatagramProtocol, options: DatagramListenOptions = {}) {
    this.#socket = socket;
    this.address = address;
    this.#protocol = protocol;
    this.#onError = options.onError ?? reportTo(options.log ?? defaultLog, formatAddress(address));
    protocol.makeConnection(this);
  }

  /**
   * What the socket has counted so far.
   *
   * @returns A frozen snapshot, a new object each call.
   */
  metrics(): DatagramPortMetrics {
    return Object.freeze({
      datagramsReceived: this.#received,
      bytesReceived: this.#bytesReceived,
      datagramsSent: this.#sent,
      bytesSent: this.#bytesSent,
      sendDrops: this.sendDrops,
    });
  }

  /** {@inheritDoc DatagramTransport.write} */
  write(data: Uint8Array | string, address: Pick<DatagramAddress, "host" | "port">): void {
    if (this.#closing !== undefined) return;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length > MAX_DATAGRAM_SIZE) {
      this.sendDrops++;
      return;
    }
    try {
      if (!this.#socket.send(bytes, address.host, address.port)) {
        this.sendDrops++;
        return;
      }
    } catch {
      this.sendDrops++;
      return;
    }
    this.#sent++;
    this.#bytesSent += bytes.length;
  }

  /** The adapter reports a send that failed after `send` returned. */
  sendFailed(): void {
    this.sendDrops++;
  }

  /** {@inheritDoc DatagramTransport.getHost} */
  getHost(): DatagramAddress {
    return this.address;
  }

  /**
   * The adapter read a datagram.
   *
   * @param data The datagram, the protocol's to keep.
   * @param host The sender's IP address.
   * @param port The sender's port.
   */
  received(data: Uint8Array, host: string, port: number): void {
    if (this.#closing !== undefined) return;
    this.#received++;
    this.#bytesReceived += data.length;
    const sender = udpAddress(host, port);
    try {
      this.#protocol.datagramReceived(data, sender);
    } catch (error) {
      this.#onError(error, sender);
    }
  }

  /** {@inheritDoc DatagramTransport.stopListening} */
  stopListening(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#socket.close();
      this.#protocol.stopProtocol();
    })();
    return this.#closing;
  }

  /** Same as `stopListening()`. */
  close(): Promise<void> {
    return this.stopListening();
  }
}

/**
 * Checks `listenUDP` options and fills in defaults.
 *
 * @param options The caller's options.
 * @returns The host and port to bind.
 * @throws {TypeError} If the port is not a number or the host not a string.
 * @throws {RangeError} If the port is not an integer from 0 to 65535.
 */
export function resolveDatagramOptions(options: DatagramListenOptions): { host: string; port: number } {
  const port = options.port ?? 8000;
  const host = options.host ?? "127.0.0.1";
  if (typeof port !== "number") throw new TypeError(`Cannot listen on UDP port ${String(port)}: not a number`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot listen on UDP port ${port}: must be an integer from 0 to 65535`);
  }
  if (typeof host !== "string" || host === "") throw new TypeError("Cannot listen on UDP: host must be a non-empty string");
  return { host, port };
}
