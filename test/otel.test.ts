import { DataPointType, MeterProvider, MetricReader, type SumMetricData } from "@opentelemetry/sdk-metrics";
import { expect, test } from "vitest";
import type { PortMetrics } from "../src/mod.ts";
import type { EndpointMetrics } from "../runner/metrics/endpoint_metrics.ts";
import { METRIC_FAMILIES } from "../runner/metrics/prometheus.ts";
import { reportToOpenTelemetry } from "../runner/otel.ts";

class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const port: PortMetrics = {
  connectionsAccepted: 10,
  connectionsRefused: 1,
  connectionsOpen: 2,
  bytesRead: 1000,
  bytesWritten: 999,
  acceptFailuresPeerGone: 3,
  acceptFailuresResources: 4,
  acceptFailuresOther: 5,
  tlsHandshakesCompleted: 6,
  tlsHandshakesFailed: 7,
  proxyHeadersRejected: 8,
  connectionsClosedIdle: 9,
  connectionsClosedProtocolError: 11,
};
const udp = { datagramsReceived: 20, bytesReceived: 2000, datagramsSent: 15, bytesSent: 1500, sendDrops: 1, datagramsAnswered: 16, droppedLowPort: 2, droppedRateLimit: 1, droppedOversized: 1 };

/** Every value the SDK collected, as "name{attributes} value", and each instrument's unit and monotonicity. */
async function collected(reader: TestReader) {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const values: string[] = [];
  const kinds: Record<string, string> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      expect(metric.dataPointType).toBe(DataPointType.SUM);
      const sum = metric as SumMetricData;
      kinds[metric.descriptor.name] = `${metric.descriptor.unit} ${sum.isMonotonic ? "monotonic" : "up-down"}`;
      for (const p of sum.dataPoints) {
        const attrs = Object.entries(p.attributes).map(([k, v]) => `${k}=${String(v)}`).join(",");
        values.push(`${metric.descriptor.name}{${attrs}} ${p.value}`);
      }
    }
  }
  return { values: values.sort(), kinds };
}

test("every metric is reported through @opentelemetry/api with the snapshot's values, read once per collection", async () => {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  let calls = 0;
  let samples: EndpointMetrics[] = [{ endpoint: "tcp:8000", port }, { endpoint: "udp:7", udp }];
  const report = reportToOpenTelemetry({
    meter: provider.getMeter("test"),
    collect: () => {
      calls++;
      return Promise.resolve(samples);
    },
  });
  expect(report.instruments).toHaveLength(METRIC_FAMILIES.length);
  const { values, kinds } = await collected(reader);
  expect(calls).toBe(1);
  expect(values).toEqual([
    "twine.accept.failures{twine.endpoint=tcp:8000,twine.kind=other} 5",
    "twine.accept.failures{twine.endpoint=tcp:8000,twine.kind=peer_gone} 3",
    "twine.accept.failures{twine.endpoint=tcp:8000,twine.kind=resources} 4",
    "twine.bytes.read{twine.endpoint=tcp:8000} 1000",
    "twine.bytes.written{twine.endpoint=tcp:8000} 999",
    "twine.connections.accepted{twine.endpoint=tcp:8000} 10",
    "twine.connections.closed{twine.endpoint=tcp:8000,twine.reason=idle_timeout} 9",
    "twine.connections.closed{twine.endpoint=tcp:8000,twine.reason=protocol_error} 11",
    "twine.connections.open{twine.endpoint=tcp:8000} 2",
    "twine.connections.refused{twine.endpoint=tcp:8000} 1",
    "twine.proxy.headers_rejected{twine.endpoint=tcp:8000} 8",
    "twine.tls.handshakes{twine.endpoint=tcp:8000,twine.result=completed} 6",
    "twine.tls.handshakes{twine.endpoint=tcp:8000,twine.result=failed} 7",
    "twine.udp.bytes.received{twine.endpoint=udp:7} 2000",
    "twine.udp.bytes.sent{twine.endpoint=udp:7} 1500",
    "twine.udp.datagrams.answered{twine.endpoint=udp:7} 16",
    "twine.udp.datagrams.dropped{twine.endpoint=udp:7,twine.reason=low_port} 2",
    "twine.udp.datagrams.dropped{twine.endpoint=udp:7,twine.reason=oversized} 1",
    "twine.udp.datagrams.dropped{twine.endpoint=udp:7,twine.reason=rate_limit} 1",
    "twine.udp.datagrams.dropped{twine.endpoint=udp:7,twine.reason=send_failed} 1",
    "twine.udp.datagrams.received{twine.endpoint=udp:7} 20",
    "twine.udp.datagrams.sent{twine.endpoint=udp:7} 15",
  ]);
  expect(kinds["twine.bytes.read"]).toBe("By monotonic");
  expect(kinds["twine.connections.open"]).toBe("{connection} up-down");
  expect(kinds["twine.connections.accepted"]).toBe("{connection} monotonic");

  // The next collection reads the snapshot again.
  samples = [{ endpoint: "tcp:8000", port: { ...port, connectionsAccepted: 12, connectionsOpen: 1 } }];
  const next = await collected(reader);
  expect(calls).toBe(2);
  expect(next.values).toContain("twine.connections.accepted{twine.endpoint=tcp:8000} 12");
  expect(next.values).toContain("twine.connections.open{twine.endpoint=tcp:8000} 1");

  report.stop();
  await collected(reader);
  expect(calls).toBe(2);
  await provider.shutdown();
});

test("reportToOpenTelemetry needs a collect function", () => {
  expect(() => reportToOpenTelemetry({} as never)).toThrow(TypeError);
});
