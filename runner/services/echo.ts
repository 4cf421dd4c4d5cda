/**
 * The echo service (`twine-serve echo`, `twine-echo`): RFC 862 over every stream endpoint, and
 * UDP echo on `udp:` endpoints or, with `--udp`, on the first TCP endpoint's port.
 *
 * @module
 */
import type { AutoListenOptions } from "../../adapters/listen.ts";
import type { ServerEndpoint, TcpServerEndpoint, UdpServerEndpoint } from "../../src/endpoints/endpoints.ts";
import { EchoDatagramProtocol } from "../../src/udp/udp_echo.ts";
import { EchoFactory } from "../../src/wire/echo.ts";
import { DatagramServerEndpointService } from "../datagram_service.ts";
import { StreamServerEndpointService } from "../endpoint_service.ts";
import type { ServiceContext } from "../serve_options.ts";
import { type OptionValues, type ServiceMaker, UsageError } from "../service_maker.ts";
import { type Counts, MultiService, plural, Service } from "../service.ts";
import { listenTcpAndUdp, parseRate, udpSummary } from "./echo_udp.ts";

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

/** One UDP echo socket's protocol, and how many datagrams its port dropped. */
interface UdpEcho {
  readonly echo: EchoDatagramProtocol;
  readonly ports: () => number;
}

/** Echo on every endpoint it is given, counting what it echoed. */
export class EchoService extends MultiService {
  /** The factory of every stream endpoint. */
  readonly factory: EchoFactory = new EchoFactory();
  readonly #udp: UdpEcho[] = [];
  readonly #streams: boolean;

  /**
   * @param endpoints Where to echo: stream endpoints and `udp:` ones.
   * @param listenOptions The options of every stream endpoint.
   * @param udp Also UDP echo on the first stream endpoint's port, which must be TCP.
   * @param rate UDP datagrams answered per second per source address; 0 for no limit.
   */
  constructor(endpoints: readonly ServerEndpoint[], listenOptions: AutoListenOptions, udp: boolean, rate: number) {
    super();
    this.name = "Echo server";
    const datagram = endpoints.filter((e): e is UdpServerEndpoint => e.type === "udp");
    const stream = endpoints.filter((e) => e.type !== "udp");
    this.#streams = stream.length > 0;
    for (const [i, e] of stream.entries()) {
      if (i === 0 && udp && (e.type === "tcp" || e.type === "tcp6")) {
        // One protocol per UDP socket, as each writes to its own: so each has its own rate limit per source.
        const echo = new EchoDatagramProtocol({ rate });
        const shared = new SharedPortService(e, this.factory, echo, listenOptions);
        this.#udp.push({ echo, ports: () => udpDrops(shared) });
        this.addService(shared);
      } else {
        this.addService(new StreamServerEndpointService(e, this.factory, listenOptions));
      }
    }
    for (const e of datagram) {
      const echo = new EchoDatagramProtocol({ rate });
      const service = new DatagramServerEndpointService(e, echo, { adapter: listenOptions.adapter, log: listenOptions.log });
      this.#udp.push({ echo, ports: () => service.port?.sendDrops ?? 0 });
      this.addService(service);
    }
  }

  /** @returns The connections served and bytes echoed, and what UDP echo did. */
  override counts(): Counts {
    const counts: Counts = { ...super.counts(), bytesEchoed: this.factory.bytesEchoed };
    if (this.#udp.length === 0) return counts;
    const sum = (f: (u: UdpEcho) => number) => this.#udp.reduce((n, u) => n + f(u), 0);
    return {
      ...counts,
      datagramsEchoed: sum((u) => u.echo.datagramsEchoed),
      udpBytesEchoed: sum((u) => u.echo.bytesEchoed),
      ignoredPorts: sum((u) => u.echo.ignoredPorts),
      rateLimited: sum((u) => u.echo.rateLimited),
      udpDropped: sum((u) => u.echo.oversized + u.ports()),
    };
  }

  /**
   * @param counts Counts summed over workers.
   * @returns `served 3 connections, echoed 12 bytes`, with `; UDP: …` when it echoes datagrams too; only the UDP part without stream endpoints.
   */
  override summarize(counts: Counts): string {
    const udp = this.#udp.length === 0 ? "" : udpSummary(counts, this.#udp[0]!.echo.minSourcePort);
    if (!this.#streams) return udp;
    const stream = `served ${plural(counts.connections ?? 0, "connection")}, echoed ${plural(counts.bytesEchoed ?? 0, "byte")}`;
    return udp === "" ? stream : `${stream}; ${udp}`;
  }
}

function udpDrops(shared: MultiService): number {
  return shared.services.reduce((n, s) => n + (s instanceof DatagramServerEndpointService ? s.port?.sendDrops ?? 0 : 0), 0);
}

/** `twine-serve echo`'s options beyond twine's own. */
interface EchoOptions extends OptionValues {
  udp?: boolean;
  "udp-rate"?: string;
}

/**
 * Checks the echo service's options against where it is to listen.
 *
 * @param options `--udp` and `--udp-rate`.
 * @param context Where, and how many workers.
 * @returns The UDP rate.
 * @throws {UsageError} For a bad rate, or UDP where it cannot be served.
 */
function checkOptions(options: EchoOptions, context: ServiceContext): number {
  const text = options["udp-rate"] ?? "1000";
  const rate = parseRate(text);
  if (Number.isNaN(rate)) throw new UsageError(`Invalid --udp-rate '${text}': expected an integer of at least 0`);
  if (context.workers > 1 && options.udp) throw new UsageError("Cannot combine --udp with --workers: UDP is served by one process");
  if (context.workers > 1 && context.listen.some((e) => e.type === "udp")) {
    throw new UsageError("Cannot combine --listen udp: with --workers: UDP is served by one process");
  }
  const first = context.listen.find((e) => e.type !== "udp");
  if (options.udp && first === undefined) throw new UsageError("Cannot serve --udp without a tcp: or tcp6: endpoint whose port it shares");
  if (options.udp && first!.type !== "tcp" && first!.type !== "tcp6") {
    throw new UsageError("Cannot serve --udp beside a first endpoint that is not tcp: or tcp6:");
  }
  return rate;
}

/** The echo service's maker: `twine-serve echo [--udp] [--udp-rate N]`. */
export const echoService: ServiceMaker<EchoOptions> = {
  name: "Echo server",
  description: "An echo server: every byte a client sends is written back to it.",
  options: {
    udp: {
      type: "boolean",
      default: false,
      description: "also serve UDP echo on the first TCP endpoint's port (on Deno, needs --unstable-net)",
    },
    "udp-rate": {
      type: "string",
      default: "1000",
      valueName: "N",
      description:
        "UDP datagrams answered per second per source address; 0: no limit (default 1000)\nDatagrams from source ports below 1024 are never answered (loop protection)",
    },
  },
  makeService(options, context) {
    const rate = checkOptions(options, context);
    return new EchoService(context.listen, context.listenOptions, options.udp === true, rate);
  },
};
