/**
 * The echo service's UDP sockets: loaded only when a server echoes UDP, since most do not.
 *
 * @module
 */
import type { AutoListenOptions } from "../../adapters/listen.ts";
import type { TcpServerEndpoint, UdpServerEndpoint } from "../../src/endpoints/endpoints.ts";
import { EchoDatagramProtocol } from "../../src/udp/udp_echo.ts";
import type { EchoFactory } from "../../src/wire/echo.ts";
import { DatagramServerEndpointService } from "../datagram_service.ts";
import { StreamServerEndpointService } from "../endpoint_service.ts";
import { MultiService, Service } from "../service.ts";
import { listenTcpAndUdp } from "./echo_udp.ts";

/** TCP and UDP echo on one port: with port 0, one free for both. */
class SharedPortService extends MultiService {
  readonly #endpoint: TcpServerEndpoint;
  readonly #factory: EchoFactory;
  readonly #echo: EchoDatagramProtocol;
  readonly #options: AutoListenOptions;

  constructor(endpoint: TcpServerEndpoint, factory: EchoFactory, echo: EchoDatagramProtocol, options: AutoListenOptions) {
    super();
    this.#endpoint = endpoint;
    this.#factory = factory;
    this.#echo = echo;
    this.#options = options;
  }

  override async startService(): Promise<void> {
    const both = await listenTcpAndUdp(
      async (port) => {
        const tcp = new StreamServerEndpointService({ ...this.#endpoint, port }, this.#factory, this.#options);
        await tcp.startService();
        return { service: tcp, address: tcp.port!.address, close: () => tcp.stopService({ grace: 0 }) };
      },
      async (port) => {
        const udp = new DatagramServerEndpointService({ type: "udp", host: this.#endpoint.host, port }, this.#echo, {
          adapter: this.#options.adapter,
          log: this.#options.log,
        });
        await udp.startService();
        return { service: udp, address: udp.port!.address };
      },
      this.#endpoint.port,
    );
    this.addService(both.tcp.service);
    this.addService(both.udp.service);
    // The children run already: only this one is to be marked running.
    await Service.prototype.startService.call(this);
  }
}

/** One UDP echo socket's service, its protocol, and how many datagrams its port dropped. */
export interface UdpEcho {
  readonly service: Service;
  readonly echo: EchoDatagramProtocol;
  readonly ports: () => number;
}

/**
 * UDP echo on a TCP endpoint's port, beside TCP echo there.
 *
 * @param endpoint The TCP endpoint.
 * @param factory The stream endpoints' factory.
 * @param rate Datagrams answered per second per source address; 0 for no limit.
 * @param options The stream endpoint's options.
 * @returns The service for both, and its UDP side.
 */
export function sharedPortEcho(endpoint: TcpServerEndpoint, factory: EchoFactory, rate: number, options: AutoListenOptions): UdpEcho {
  // One protocol per UDP socket, as each writes to its own: so each has its own rate limit per source.
  const echo = new EchoDatagramProtocol({ rate });
  const service = new SharedPortService(endpoint, factory, echo, options);
  const ports = () =>
    service.services.reduce((n, s) => n + (s instanceof DatagramServerEndpointService ? s.port?.sendDrops ?? 0 : 0), 0);
  return { service, echo, ports };
}

/**
 * UDP echo on a `udp:` endpoint.
 *
 * @param endpoint The endpoint.
 * @param rate Datagrams answered per second per source address; 0 for no limit.
 * @param options The adapter and the log.
 * @returns Its service and protocol.
 */
export function datagramEcho(endpoint: UdpServerEndpoint, rate: number, options: AutoListenOptions): UdpEcho {
  const echo = new EchoDatagramProtocol({ rate });
  const service = new DatagramServerEndpointService(endpoint, echo, { adapter: options.adapter, log: options.log });
  return { service, echo, ports: () => service.port?.sendDrops ?? 0 };
}
