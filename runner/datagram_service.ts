/**
 * The service that binds a `udp:` endpoint while it runs; loaded only where a server serves UDP.
 *
 * @module
 */
import type { AutoDatagramListenOptions, AutoListeningDatagramPort } from "../adapters/udp.ts";
import { describeServerEndpoint, formatServerEndpoint, parseServerEndpoint, type UdpServerEndpoint } from "../src/endpoints/endpoints.ts";
import { formatAddress } from "../src/transport/address.ts";
import type { DatagramProtocol } from "../src/udp/datagram_protocol.ts";
import { EchoDatagramProtocol } from "../src/udp/udp_echo.ts";
import type { EndpointMetrics } from "./metrics/endpoint_metrics.ts";
import { type Listener, Service } from "./service.ts";

/**
 * Binds a `udp:` endpoint for one {@link DatagramProtocol} while it runs; stopping closes it.
 *
 * @example
 * ```ts
 * import { DatagramServerEndpointService } from "./datagram_service.ts";
 * import { EchoDatagramProtocol } from "../src/mod.ts";
 * const service = new DatagramServerEndpointService("udp:0", new EchoDatagramProtocol());
 * await service.startService();
 * await service.stopService();
 * ```
 */
export class DatagramServerEndpointService extends Service {
  /** The endpoint, parsed. */
  readonly endpoint: UdpServerEndpoint;
  /** The protocol given; one serves every sender. */
  readonly protocol: DatagramProtocol;
  /** Adapter and error reporting. */
  readonly options: Omit<AutoDatagramListenOptions, "host" | "port">;
  /** The bound socket, while it runs. */
  port: AutoListeningDatagramPort | undefined;

  /**
   * @param endpoint A `udp:` endpoint string or its parsed description.
   * @param protocol The protocol.
   * @param options Adapter and error reporting, as `listenUDPEndpoint` takes them.
   * @throws {TypeError} For a malformed endpoint string, or one that is not `udp:`.
   * @throws {RangeError} For a bad port.
   */
  constructor(
    endpoint: string | UdpServerEndpoint,
    protocol: DatagramProtocol,
    options: Omit<AutoDatagramListenOptions, "host" | "port"> = {},
  ) {
    super();
    const e = typeof endpoint === "string" ? parseServerEndpoint(endpoint) : endpoint;
    if (e.type !== "udp") {
      throw new TypeError(`Cannot serve '${formatServerEndpoint(e)}' with a DatagramProtocol: not a udp: endpoint`);
    }
    this.endpoint = e;
    this.protocol = protocol;
    this.options = options;
  }

  /**
   * Binds the socket.
   *
   * @returns A promise that settles once bound.
   * @throws {ListenError} If it cannot be bound (the promise rejects).
   */
  override async startService(): Promise<void> {
    // Loaded here: most servers listen on no udp: endpoint.
    const { listenUDPEndpoint } = await import("../adapters/udp.ts");
    this.port = await listenUDPEndpoint(this.protocol, this.endpoint, this.options);
    await super.startService();
  }

  /**
   * Closes the socket; datagrams have no connection to drain.
   *
   * @returns A promise that settles once closed.
   */
  override async stopService(): Promise<void> {
    await this.port?.close();
    await super.stopService();
  }

  /** @returns Where it listens, once started. */
  override listeners(): Listener[] {
    if (this.port === undefined) return [];
    const bound = { ...this.endpoint, port: this.port.address.port };
    return [{
      kind: "datagram",
      type: "udp",
      where: `UDP ${formatAddress(this.port.address)}`,
      endpoint: formatServerEndpoint(bound),
      port: this.port.address.port,
      adapter: this.port.adapter,
    }];
  }

  /** @returns The socket's snapshot, with the echo protocol's counts if it is one, labelled `udp:HOST:PORT`, once started. */
  override metrics(): EndpointMetrics[] {
    if (this.port === undefined) return [];
    const echo = this.protocol instanceof EchoDatagramProtocol ? this.protocol.metrics() : {};
    return [{ endpoint: describeServerEndpoint({ ...this.endpoint, port: this.port.address.port }), udp: { ...this.port.metrics(), ...echo } }];
  }
}
