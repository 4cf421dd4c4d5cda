/**
 * Renders endpoint snapshots in the Prometheus text exposition format (version 0.0.4):
 * a `# HELP` and a `# TYPE` line per metric, then its samples, one group per metric;
 * counters end in `_total`, units are named (`_bytes`), every sample carries the
 * `endpoint` label.
 *
 * @module
 */
import type { EndpointMetrics } from "./endpoint_metrics.ts";

/** The Content-Type of {@link renderPrometheus}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = readonly (readonly [name: string, value: string])[];

/** One metric of the exposition: its name, type, help text and where its samples come from. */
export interface MetricFamily {
  /** The metric name, e.g. `twine_connections_accepted_total`. */
  readonly name: string;
  /** `counter` or `gauge`. */
  readonly type: "counter" | "gauge";
  /** The `# HELP` text. */
  readonly help: string;
  /** The label that tells its samples apart besides `endpoint`, with its values, if any. */
  readonly label?: { readonly name: string; readonly values: readonly string[] };
}

interface Source extends MetricFamily {
  samples(m: EndpointMetrics): (readonly [value: string | undefined, n: number | undefined])[];
}

const one = (n: number | undefined) => [[undefined, n] as const];

const SOURCES: readonly Source[] = [
  {
    name: "twine_connections_accepted_total",
    type: "counter",
    help: "Connections the listener took, including those then refused",
    samples: (m) => one(m.port?.connectionsAccepted),
  },
  {
    name: "twine_connections_refused_total",
    type: "counter",
    help: "Connections closed at once because the most allowed were open",
    samples: (m) => one(m.port?.connectionsRefused),
  },
  {
    name: "twine_connections_open",
    type: "gauge",
    help: "Connections open now",
    samples: (m) => one(m.port?.connectionsOpen),
  },
  {
    name: "twine_read_bytes_total",
    type: "counter",
    help: "Bytes read from peers, after TLS",
    samples: (m) => one(m.port?.bytesRead),
  },
  {
    name: "twine_written_bytes_total",
    type: "counter",
    help: "Bytes handed to the sockets for sending, before TLS",
    samples: (m) => one(m.port?.bytesWritten),
  },
  {
    name: "twine_accept_failures_total",
    type: "counter",
    help: "Accepts that failed: the peer was gone before its accept, a shortage of descriptors or memory, or other",
    label: { name: "kind", values: ["peer_gone", "resources", "other"] },
    samples: (m) => [
      ["peer_gone", m.port?.acceptFailuresPeerGone],
      ["resources", m.port?.acceptFailuresResources],
      ["other", m.port?.acceptFailuresOther],
    ],
  },
  {
    name: "twine_tls_handshakes_total",
    type: "counter",
    help: "TLS handshakes on a TLS listener, completed or failed (including those that timed out)",
    label: { name: "result", values: ["completed", "failed"] },
    samples: (m) => [
      ["completed", m.port?.tlsHandshakesCompleted],
      ["failed", m.port?.tlsHandshakesFailed],
    ],
  },
  {
    name: "twine_proxy_headers_rejected_total",
    type: "counter",
    help: "Connections closed because their PROXY protocol header was missing, malformed or late",
    samples: (m) => one(m.port?.proxyHeadersRejected),
  },
  {
    name: "twine_connections_closed_total",
    type: "counter",
    help: "Connections the server closed because they were idle too long or broke the protocol",
    label: { name: "reason", values: ["idle_timeout", "protocol_error"] },
    samples: (m) => [
      ["idle_timeout", m.port?.connectionsClosedIdle],
      ["protocol_error", m.port?.connectionsClosedProtocolError],
    ],
  },
  {
    name: "twine_udp_datagrams_received_total",
    type: "counter",
    help: "UDP datagrams received",
    samples: (m) => one(m.udp?.datagramsReceived),
  },
  {
    name: "twine_udp_received_bytes_total",
    type: "counter",
    help: "Bytes of the UDP datagrams received",
    samples: (m) => one(m.udp?.bytesReceived),
  },
  {
    name: "twine_udp_datagrams_sent_total",
    type: "counter",
    help: "UDP datagrams handed to the socket for sending",
    samples: (m) => one(m.udp?.datagramsSent),
  },
  {
    name: "twine_udp_sent_bytes_total",
    type: "counter",
    help: "Bytes of the UDP datagrams handed to the socket for sending",
    samples: (m) => one(m.udp?.bytesSent),
  },
  {
    name: "twine_udp_datagrams_answered_total",
    type: "counter",
    help: "UDP datagrams the echo service answered",
    samples: (m) => one(m.udp?.datagramsAnswered),
  },
  {
    name: "twine_udp_datagrams_dropped_total",
    type: "counter",
    help: "UDP datagrams not answered or not sent: from a source port below 1024, over the rate limit, oversized, or dropped on sending",
    label: { name: "reason", values: ["low_port", "rate_limit", "oversized", "send_failed"] },
    samples: (m) => [
      ["low_port", m.udp?.droppedLowPort],
      ["rate_limit", m.udp?.droppedRateLimit],
      ["oversized", m.udp?.droppedOversized],
      ["send_failed", m.udp?.sendDrops],
    ],
  },
];

/** Every metric {@link renderPrometheus} can write, in the order it writes them. */
export const METRIC_FAMILIES: readonly MetricFamily[] = SOURCES.map(({ name, type, help, label }) =>
  Object.freeze(label === undefined ? { name, type, help } : { name, type, help, label })
);

/**
 * Escapes a label value as the text format asks: backslash, double quote and line feed.
 *
 * @param value The raw value.
 * @returns The value to write between double quotes.
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\n"));
}

function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\\" ? "\\\\" : "\\n"));
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

function formatLabels(labels: Labels): string {
  return `{${labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
}

/** One value of a metric: which endpoint, the value of the metric's own label if it has one, and the number. */
export interface MetricPoint {
  /** The endpoint the value is for. */
  readonly endpoint: string;
  /** The value of the family's label (`kind`, `result`, `reason`), if it has one. */
  readonly label?: string;
  /** The number. */
  readonly value: number;
}

/**
 * Every metric that some endpoint has a value for, with its values, in the order of
 * {@link METRIC_FAMILIES}: what {@link renderPrometheus} writes and the OpenTelemetry module reports.
 *
 * @param samples One snapshot per endpoint.
 * @returns The metrics with at least one value, each with its values in the order of `samples`.
 */
export function collectPoints(samples: readonly EndpointMetrics[]): { family: MetricFamily; points: MetricPoint[] }[] {
  const out: { family: MetricFamily; points: MetricPoint[] }[] = [];
  SOURCES.forEach((source, i) => {
    const points: MetricPoint[] = [];
    for (const m of samples) {
      for (const [label, value] of source.samples(m)) {
        if (value !== undefined) points.push(label === undefined ? { endpoint: m.endpoint, value } : { endpoint: m.endpoint, label, value });
      }
    }
    if (points.length > 0) out.push({ family: METRIC_FAMILIES[i]!, points });
  });
  return out;
}

/**
 * Writes snapshots in the Prometheus text exposition format, as `GET /metrics` serves it.
 * A metric appears only if some endpoint has a value for it (the UDP ones only with a UDP
 * endpoint, the answered and guard counts only with the echo service), each metric once,
 * its samples in the order of `samples`.
 *
 * @param samples One snapshot per endpoint (sum a server's workers first with `sumEndpointMetrics`).
 * @returns The exposition, ending with a line feed (empty for no samples).
 * @example
 * ```ts
 * import { renderPrometheus } from "./prometheus.ts";
 * const udp = { datagramsReceived: 2, bytesReceived: 6, datagramsSent: 2, bytesSent: 6, sendDrops: 0 };
 * renderPrometheus([{ endpoint: "udp:7", udp }]).split("\n").slice(0, 3);
 * // ["# HELP twine_udp_datagrams_received_total UDP datagrams received",
 * //  "# TYPE twine_udp_datagrams_received_total counter",
 * //  'twine_udp_datagrams_received_total{endpoint="udp:7"} 2']
 * ```
 */
export function renderPrometheus(samples: readonly EndpointMetrics[]): string {
  let out = "";
  for (const { family, points } of collectPoints(samples)) {
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    for (const { endpoint, label, value } of points) {
      const labels: Labels = label === undefined ? [["endpoint", endpoint]] : [["endpoint", endpoint], [family.label!.name, label]];
      out += `${family.name}${formatLabels(labels)} ${formatValue(value)}\n`;
    }
  }
  return out;
}
