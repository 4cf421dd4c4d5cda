/**
 * twine's runner: serves a factory or a service on endpoint strings, drains it on a signal,
 * prints one start line and one summary, and runs workers, as Twisted's `application` and
 * `twistd`; `twine-serve` is a thin command over it.
 *
 * @example
 * ```ts
 * import { serve } from "./mod.ts";
 * import { EchoFactory } from "../src/mod.ts";
 * const app = await serve(new EchoFactory(), { listen: ["tcp:0"], grace: 1, signals: false, log: false });
 * await app.stop();
 * ```
 *
 * @module
 */
export type { App } from "./app.ts";
export { DatagramServerEndpointService } from "./datagram_service.ts";
export { StreamServerEndpointService } from "./endpoint_service.ts";
export { service } from "./strports.ts";
export { type LoadedService, loadService, LoadServiceError, type LoadServiceOptions, looksLikePath } from "./load_service.ts";
export { formatJsonLogLine, type JsonLogOptions, type LogFormat, logTo, type ServeLogEvent, type ServeLogFieldValue } from "./log_format.ts";
export { type EndpointMetrics, sumEndpointMetrics, type UdpMetrics } from "./metrics/endpoint_metrics.ts";
export { MetricsHttpFactory, type MetricsHttpOptions } from "./metrics/metrics_http.ts";
export { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./metrics/prometheus.ts";
export { metricsService, type MetricsServiceOptions } from "./metrics_service.ts";
export { consoleLog, type LogLevel, type ProcessStatus, type ServeLog, type Summary } from "./report.ts";
export { serve } from "./serve.ts";
export type { Servable, ServeOptions, ServiceBuilder, ServiceContext } from "./serve_options.ts";
export { type Counts, type Listener, MultiService, Service, type StopOptions } from "./service.ts";
export { type MakerOption, type OptionValues, type ServiceMaker, UsageError } from "./service_maker.ts";
export { BUILTIN_SERVICES } from "./services/builtins.ts";
export { EchoService, echoService } from "./services/echo.ts";
export { chargenService, daytimeService, discardService } from "./services/wire.ts";
