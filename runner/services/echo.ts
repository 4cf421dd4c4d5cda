/**
 * The echo service (`twine-serve echo`, `twine-echo`): RFC 862 over every stream endpoint, and
 * UDP echo on `udp:` endpoints or, with `--udp`, on the first TCP endpoint's port.
 *
 * @module
 */
import type { AutoListenOptions } from "../../adapters/listen.ts";
import type { ServerEndpoint } from "../../src/endpoints/endpoints.ts";
import { EchoFactory } from "../../src/wire/echo.ts";
import { StreamServerEndpointService } from "../endpoint_service.ts";
import type { ServiceContext } from "../serve_options.ts";
import { type OptionValues, type ServiceMaker, UsageError } from "../service_maker.ts";
import { type Counts, MultiService, plural } from "../service.ts";
import { parseRate, udpSummary } from "./echo_udp.ts";
import type { UdpEcho } from "./echo_udp_service.ts";

type UdpSide = typeof import("./echo_udp_service.ts");

/** What the echo service serves, as its constructor was given it. */
interface EchoPlan {
  readonly endpoints: readonly ServerEndpoint[];
  readonly listenOptions: AutoListenOptions;
  readonly udp: boolean;
  readonly rate: number;
}

/** Echo on every endpoint it is given, counting what it echoed. */
export class EchoService extends MultiService {
  /** The factory of every stream endpoint. */
  readonly factory: EchoFactory = new EchoFactory();
  readonly #udp: UdpEcho[] = [];
  readonly #streams: boolean;
  // Where UDP is served, the services wait for startService(), which loads UDP's modules first.
  #pending: EchoPlan | undefined;

  /**
   * @param endpoints Where to echo: stream endpoints and `udp:` ones.
   * @param listenOptions The options of every stream endpoint.
   * @param udp Also UDP echo on the first stream endpoint's port, which must be TCP.
   * @param rate UDP datagrams answered per second per source address; 0 for no limit.
   */
  constructor(endpoints: readonly ServerEndpoint[], listenOptions: AutoListenOptions, udp: boolean, rate: number) {
    super();
    this.name = "Echo server";
    this.#streams = endpoints.some((e) => e.type !== "udp");
    const plan = { endpoints, listenOptions, udp, rate };
    if (udp || endpoints.some((e) => e.type === "udp")) this.#pending = plan;
    else this.#addServices(plan, undefined);
  }

  /**
   * Builds the UDP sockets' services, if any, then starts every service in order.
   *
   * @returns A promise that settles once all run.
   */
  override async startService(): Promise<void> {
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      // Loaded here, as a listener that needs PROXY or TLS loads them: UDP echo is rare and costs start-up.
      this.#addServices(pending, await import("./echo_udp_service.ts"));
    }
    await super.startService();
  }

  /** Adds a service per endpoint, in order; the UDP ones only with UDP's modules loaded. */
  #addServices({ endpoints, listenOptions, udp, rate }: EchoPlan, side: UdpSide | undefined): void {
    for (const [i, e] of endpoints.filter((e) => e.type !== "udp").entries()) {
      if (side !== undefined && i === 0 && udp && (e.type === "tcp" || e.type === "tcp6")) {
        this.#addUdp(side.sharedPortEcho(e, this.factory, rate, listenOptions));
      } else {
        this.addService(new StreamServerEndpointService(e, this.factory, listenOptions));
      }
    }
    for (const e of endpoints) {
      if (side !== undefined && e.type === "udp") this.#addUdp(side.datagramEcho(e, rate, listenOptions));
    }
  }

  #addUdp(echo: UdpEcho): void {
    this.#udp.push(echo);
    this.addService(echo.service);
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
