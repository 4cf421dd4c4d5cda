/**
 * `--metrics ENDPOINT`: `GET /metrics` (the Prometheus text format) and `GET /healthz` on an
 * endpoint of their own, served by the process that knows the whole server: the server itself,
 * or the supervisor of its workers.
 *
 * @module
 */
import type { AutoListenOptions } from "../adapters/listen.ts";
import type { ServerEndpoint } from "../src/endpoints/endpoints.ts";
import type { App } from "./app.ts";
import { StreamServerEndpointService } from "./endpoint_service.ts";
import { coreLog, formatLog } from "./log.ts";
import type { EndpointMetrics } from "./metrics/endpoint_metrics.ts";
import { MetricsHttpFactory } from "./metrics/metrics_http.ts";
import { renderPrometheus } from "./metrics/prometheus.ts";
import type { LogLevel, ServeLog } from "./report.ts";
import type { ServeConfig } from "./serve_options.ts";

/** A client that sends nothing, or never reads its answer, is cut after this long. */
const IDLE_MS = 10_000;

/** Options of {@link metricsService}. */
export interface MetricsServiceOptions {
  /** The server's snapshots, one per endpoint (summed over workers already); may take a while. */
  readonly collect: () => readonly EndpointMetrics[] | Promise<readonly EndpointMetrics[]>;
  /** Whether the server accepts connections: `/healthz` answers 200, else 503 (starting, draining). */
  readonly healthy: () => boolean;
  /** The adapter and the log of the listener; its limits are its own. */
  readonly listenOptions?: Pick<AutoListenOptions, "adapter" | "log">;
}

/**
 * A service that answers `GET /metrics` and `GET /healthz` on `endpoint` while it runs. It is
 * kept beside the server's own services rather than among them: it starts first and stops
 * last, once the drain is over, so that `/healthz` answers 503 all through the drain.
 *
 * @param endpoint A stream endpoint: `tcp:9464`, `unix:/run/twine-metrics.sock`, …
 * @param options Where the numbers and the health come from.
 * @returns The service, not started.
 * @example
 * ```ts
 * import { metricsService } from "./metrics_service.ts";
 * const service = metricsService("tcp:0", { collect: () => [], healthy: () => true });
 * await service.startService();
 * const r = await fetch(`http://127.0.0.1:${service.port!.address.port}/healthz`);
 * r.status; // 200
 * await service.stopService({ grace: 0 });
 * ```
 */
export function metricsService(endpoint: string | ServerEndpoint, options: MetricsServiceOptions): StreamServerEndpointService {
  const factory = new MetricsHttpFactory({
    metrics: async () => renderPrometheus(await options.collect()),
    healthy: options.healthy,
  });
  const service = new StreamServerEndpointService(endpoint, factory, { ...options.listenOptions, idleTimeout: IDLE_MS });
  service.name = "metrics";
  return service;
}

/**
 * The line that says where the metrics are, once their service listens.
 *
 * @param service The started service.
 * @returns `Serving metrics on 127.0.0.1:9464: GET /metrics, GET /healthz`, its level and event.
 */
export function metricsLine(service: StreamServerEndpointService): Parameters<ServeLog> {
  const listener = service.listeners()[0]!;
  const level: LogLevel = "info";
  return [
    `Serving metrics on ${listener.where}: GET /metrics, GET /healthz`,
    level,
    { event: "metrics_listening", level: "info", endpoint: listener.where },
  ];
}

/**
 * Starts an app with its metrics endpoint, if the options ask for one: the endpoint is bound
 * first (one that cannot be bound stops the start before anything else listens), answers 503
 * on `/healthz` until the app accepts and again from the moment it drains, says where it is
 * after the start line, and closes once the app has stopped.
 *
 * @param config The options, checked; `metrics` says where, if anywhere.
 * @param start Starts the app: in this process, or as the supervisor of its workers.
 * @returns The app; its `stopped` settles once the metrics endpoint is closed too.
 * @throws {ListenError} If the metrics endpoint cannot be bound (the promise rejects), or whatever `start` throws.
 */
export async function withMetricsEndpoint(config: ServeConfig, start: () => Promise<App>): Promise<App> {
  if (config.metrics === undefined) return await start();
  const log = formatLog(config.log, config.logFormat);
  let app: App | undefined;
  const service = metricsService(config.metrics, {
    collect: () => app?.metrics() ?? [],
    healthy: () => app !== undefined && !app.draining,
    listenOptions: { adapter: config.listenOptions.adapter, log: coreLog(log) },
  });
  await service.startService();
  let started: App;
  try {
    started = await start();
  } catch (error) {
    await service.stopService({ grace: 0 });
    throw error;
  }
  app = started;
  if (!started.draining) log(...metricsLine(service));
  const stopped = started.stopped.then(async (summary) => {
    await service.stopService({ grace: 0 });
    return summary;
  });
  return {
    ...started,
    get draining() {
      return started.draining;
    },
    stopped,
    stop: async (reason) => {
      await started.stop(reason);
      return await stopped;
    },
  };
}
