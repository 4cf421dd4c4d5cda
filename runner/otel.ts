/**
 * twine's metrics through OpenTelemetry, for applications that already use it:
 * `twine-net/otel` (npm) and `@twine/net/otel` (JSR). It reports the same numbers as
 * `GET /metrics` through `@opentelemetry/api` observable instruments, read once per
 * collection. `@opentelemetry/api` is an optional peer dependency: install it to use this
 * module; the rest of twine never loads it.
 *
 * @module
 */
import { type Attributes, type BatchObservableResult, type Meter, metrics, type Observable } from "@opentelemetry/api";
import type { EndpointMetrics } from "./metrics/endpoint_metrics.ts";
import { collectPoints, METRIC_FAMILIES } from "./metrics/prometheus.ts";

/** How each metric is named in OpenTelemetry: dotted, without `_total`, its unit apart (UCUM). */
const OTEL: Record<string, { name: string; unit: string; kind: "counter" | "updown" }> = {
  twine_connections_accepted_total: { name: "twine.connections.accepted", unit: "{connection}", kind: "counter" },
  twine_connections_refused_total: { name: "twine.connections.refused", unit: "{connection}", kind: "counter" },
  // Open connections add up across workers: an up-down counter, not a gauge.
  twine_connections_open: { name: "twine.connections.open", unit: "{connection}", kind: "updown" },
  twine_read_bytes_total: { name: "twine.bytes.read", unit: "By", kind: "counter" },
  twine_written_bytes_total: { name: "twine.bytes.written", unit: "By", kind: "counter" },
  twine_accept_failures_total: { name: "twine.accept.failures", unit: "{failure}", kind: "counter" },
  twine_tls_handshakes_total: { name: "twine.tls.handshakes", unit: "{handshake}", kind: "counter" },
  twine_proxy_headers_rejected_total: { name: "twine.proxy.headers_rejected", unit: "{connection}", kind: "counter" },
  twine_connections_closed_total: { name: "twine.connections.closed", unit: "{connection}", kind: "counter" },
  twine_udp_datagrams_received_total: { name: "twine.udp.datagrams.received", unit: "{datagram}", kind: "counter" },
  twine_udp_received_bytes_total: { name: "twine.udp.bytes.received", unit: "By", kind: "counter" },
  twine_udp_datagrams_sent_total: { name: "twine.udp.datagrams.sent", unit: "{datagram}", kind: "counter" },
  twine_udp_sent_bytes_total: { name: "twine.udp.bytes.sent", unit: "By", kind: "counter" },
  twine_udp_datagrams_answered_total: { name: "twine.udp.datagrams.answered", unit: "{datagram}", kind: "counter" },
  twine_udp_datagrams_dropped_total: { name: "twine.udp.datagrams.dropped", unit: "{datagram}", kind: "counter" },
};

/** Options of {@link reportToOpenTelemetry}. */
export interface OpenTelemetryOptions {
  /**
   * The snapshots to report, asked for once per collection: e.g.
   * `() => [{ endpoint: "tcp:8000", port: port.metrics() }]`, or a supervisor's sum over its workers.
   */
  collect: () => readonly EndpointMetrics[] | Promise<readonly EndpointMetrics[]>;
  /**
   * The meter to create the instruments on.
   * @default metrics.getMeter("twine-net") from the global MeterProvider
   */
  meter?: Meter;
}

/** What {@link reportToOpenTelemetry} returns. */
export interface OpenTelemetryReport {
  /** The OpenTelemetry names of the instruments created, in order. */
  readonly instruments: readonly string[];
  /** Stops reporting: the instruments are no longer observed. */
  stop(): void;
}

/**
 * Reports twine's metrics through OpenTelemetry: one observable counter per metric
 * (`twine.connections.accepted`, `twine.bytes.read`, ...; an up-down counter for
 * `twine.connections.open`), each value with the attribute `twine.endpoint`, and
 * `twine.kind`, `twine.result` or `twine.reason` where the Prometheus metric has that
 * label. One batch callback reads `collect` once per collection.
 *
 * @param options Where the snapshots come from, and the meter.
 * @returns The instruments' names, and `stop()`.
 * @throws {TypeError} If `collect` is not a function.
 * @example
 * ```ts
 * import { reportToOpenTelemetry } from "./otel.ts";
 * import { listen } from "../adapters/mod.ts";
 * import { EchoFactory } from "../src/mod.ts";
 * const port = await listen(new EchoFactory(), { port: 0 });
 * const report = reportToOpenTelemetry({ collect: () => [{ endpoint: "tcp:0", port: port.metrics() }] });
 * report.stop();
 * await port.close();
 * ```
 */
export function reportToOpenTelemetry(options: OpenTelemetryOptions): OpenTelemetryReport {
  if (typeof options?.collect !== "function") throw new TypeError("Cannot report to OpenTelemetry: options.collect must be a function");
  const meter = options.meter ?? metrics.getMeter("twine-net");
  const instruments = new Map<string, Observable>();
  for (const family of METRIC_FAMILIES) {
    const { name, unit, kind } = OTEL[family.name]!;
    const create = kind === "updown" ? meter.createObservableUpDownCounter : meter.createObservableCounter;
    instruments.set(family.name, create.call(meter, name, { description: family.help, unit }));
  }
  const callback = async (result: BatchObservableResult): Promise<void> => {
    for (const { family, points } of collectPoints(await options.collect())) {
      const instrument = instruments.get(family.name)!;
      for (const { endpoint, label, value } of points) {
        const attributes: Attributes = { "twine.endpoint": endpoint };
        if (label !== undefined) attributes[`twine.${family.label!.name}`] = label;
        result.observe(instrument, value, attributes);
      }
    }
  };
  const observed = [...instruments.values()];
  meter.addBatchObservableCallback(callback, observed);
  return {
    instruments: METRIC_FAMILIES.map((f) => OTEL[f.name]!.name),
    stop: () => meter.removeBatchObservableCallback(callback, observed),
  };
}
