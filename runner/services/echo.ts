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

/** Echo on every endpoint it is given, counting what it echoed. */
export class EchoService extends MultiService {
  /** The factory of every stream endpoint. */
  readonly factory: EchoFactory = new EchoFactory();
  readonly #udp: UdpEcho[] = [];
  readonly #streams: boolean;
  // What startService() builds where UDP is served, once it has loaded UDP's modules.
  #pending: { endpoints: readonly ServerEndpoint[]; listenOptions: AutoListenOptions; shared: boolean; rate: number } | undefined;

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
    const first = endpoints.find((e) => e.type !== "udp");
    const shared = udp && (first?.type === "tcp" || first?.type === "tcp6");
    if (!shared && endpoints.every((e) => e.type !== "udp")) {
      for (const e of endpoints) this.addService(new StreamServerEndpointService(e, this.factory, listenOptions));
    } else {
      this.#pending = { endpoints, listenOptions, shared, rate };
    }
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
      const { datagramEcho, sharedPortEcho } = await import("./echo_udp_service.ts");
      const { endpoints, listenOptions, shared, rate } = pending;
      const stream = endpoints.filter((e) => e.type !== "udp");
      for (const [i, e] of stream.entries()) {
        if (i === 0 && shared && (e.type === "tcp" || e.type === "tcp6")) {
          const echo = sharedPortEcho(e, this.factory, rate, listenOptions);
          this.#udp.push(echo);
          this.addService(echo.service);
        } else {
          this.addService(new StreamServerEndpointService(e, this.factory, listenOptions));
        }
      }
      for (const e of endpoints) {
        if (e.type !== "udp") continue;
        const echo = datagramEcho(e, rate, listenOptions);
        this.#udp.push(echo);
        this.addService(echo.service);
      }
    }
    await super.startService();
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
