import { expect, test } from "vitest";
import type { PortMetrics } from "../src/mod.ts";
import { type EndpointMetrics, sumEndpointMetrics } from "../runner/metrics/endpoint_metrics.ts";
import { escapeLabelValue, METRIC_FAMILIES, renderPrometheus } from "../runner/metrics/prometheus.ts";

function port(n: number): PortMetrics {
  return {
    connectionsAccepted: 10 * n,
    connectionsRefused: n,
    connectionsOpen: 2 * n,
    bytesRead: 1000 * n,
    bytesWritten: 999 * n,
    acceptFailuresPeerGone: 3 * n,
    acceptFailuresResources: 4 * n,
    acceptFailuresOther: 5 * n,
    tlsHandshakesCompleted: 6 * n,
    tlsHandshakesFailed: 7 * n,
    proxyHeadersRejected: 8 * n,
    connectionsClosedIdle: 9 * n,
    connectionsClosedProtocolError: 11 * n,
  };
}

const udp = {
  datagramsReceived: 20,
  bytesReceived: 2000,
  datagramsSent: 15,
  bytesSent: 1500,
  sendDrops: 1,
  datagramsAnswered: 16,
  bytesAnswered: 1600,
  droppedLowPort: 2,
  droppedRateLimit: 1,
  droppedOversized: 1,
};

test("renders every metric with HELP and TYPE, grouped per metric, labelled by endpoint: the exact text", () => {
  const text = renderPrometheus([
    { endpoint: "tcp:8000", port: port(1) },
    { endpoint: "ssl:8443:privateKey=k.pem:certKey=c.pem", port: port(2) },
    { endpoint: "udp:7", udp },
  ]);
  expect(text).toBe(`# HELP twine_connections_accepted_total Connections the listener took, including those then refused
# TYPE twine_connections_accepted_total counter
twine_connections_accepted_total{endpoint="tcp:8000"} 10
twine_connections_accepted_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem"} 20
# HELP twine_connections_refused_total Connections closed at once because the most allowed were open
# TYPE twine_connections_refused_total counter
twine_connections_refused_total{endpoint="tcp:8000"} 1
twine_connections_refused_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem"} 2
# HELP twine_connections_open Connections open now
# TYPE twine_connections_open gauge
twine_connections_open{endpoint="tcp:8000"} 2
twine_connections_open{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem"} 4
# HELP twine_read_bytes_total Bytes read from peers, after TLS
# TYPE twine_read_bytes_total counter
twine_read_bytes_total{endpoint="tcp:8000"} 1000
twine_read_bytes_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem"} 2000
# HELP twine_written_bytes_total Bytes handed to the sockets for sending, before TLS
# TYPE twine_written_bytes_total counter
twine_written_bytes_total{endpoint="tcp:8000"} 999
twine_written_bytes_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem"} 1998
# HELP twine_accept_failures_total Accepts that failed: the peer was gone before its accept, a shortage of descriptors or memory, or other
# TYPE twine_accept_failures_total counter
twine_accept_failures_total{endpoint="tcp:8000",kind="peer_gone"} 3
twine_accept_failures_total{endpoint="tcp:8000",kind="resources"} 4
twine_accept_failures_total{endpoint="tcp:8000",kind="other"} 5
twine_accept_failures_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem",kind="peer_gone"} 6
twine_accept_failures_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem",kind="resources"} 8
twine_accept_failures_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem",kind="other"} 10
# HELP twine_tls_handshakes_total TLS handshakes on a TLS listener, completed or failed (including those that timed out)
# TYPE twine_tls_handshakes_total counter
twine_tls_handshakes_total{endpoint="tcp:8000",result="completed"} 6
twine_tls_handshakes_total{endpoint="tcp:8000",result="failed"} 7
twine_tls_handshakes_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem",result="completed"} 12
twine_tls_handshakes_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem",result="failed"} 14
# HELP twine_proxy_headers_rejected_total Connections closed because their PROXY protocol header was missing, malformed or late
# TYPE twine_proxy_headers_rejected_total counter
twine_proxy_headers_rejected_total{endpoint="tcp:8000"} 8
twine_proxy_headers_rejected_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem"} 16
# HELP twine_connections_closed_total Connections the server closed because they were idle too long or broke the protocol
# TYPE twine_connections_closed_total counter
twine_connections_closed_total{endpoint="tcp:8000",reason="idle_timeout"} 9
twine_connections_closed_total{endpoint="tcp:8000",reason="protocol_error"} 11
twine_connections_closed_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem",reason="idle_timeout"} 18
twine_connections_closed_total{endpoint="ssl:8443:privateKey=k.pem:certKey=c.pem",reason="protocol_error"} 22
# HELP twine_udp_datagrams_received_total UDP datagrams received
# TYPE twine_udp_datagrams_received_total counter
twine_udp_datagrams_received_total{endpoint="udp:7"} 20
# HELP twine_udp_received_bytes_total Bytes of the UDP datagrams received
# TYPE twine_udp_received_bytes_total counter
twine_udp_received_bytes_total{endpoint="udp:7"} 2000
# HELP twine_udp_datagrams_sent_total UDP datagrams handed to the socket for sending
# TYPE twine_udp_datagrams_sent_total counter
twine_udp_datagrams_sent_total{endpoint="udp:7"} 15
# HELP twine_udp_sent_bytes_total Bytes of the UDP datagrams handed to the socket for sending
# TYPE twine_udp_sent_bytes_total counter
twine_udp_sent_bytes_total{endpoint="udp:7"} 1500
# HELP twine_udp_datagrams_answered_total UDP datagrams the echo service answered
# TYPE twine_udp_datagrams_answered_total counter
twine_udp_datagrams_answered_total{endpoint="udp:7"} 16
# HELP twine_udp_datagrams_dropped_total UDP datagrams not answered or not sent: from a source port below 1024, over the rate limit, oversized, or dropped on sending
# TYPE twine_udp_datagrams_dropped_total counter
twine_udp_datagrams_dropped_total{endpoint="udp:7",reason="low_port"} 2
twine_udp_datagrams_dropped_total{endpoint="udp:7",reason="rate_limit"} 1
twine_udp_datagrams_dropped_total{endpoint="udp:7",reason="oversized"} 1
twine_udp_datagrams_dropped_total{endpoint="udp:7",reason="send_failed"} 1
`);
});

test("a UDP socket that is not the echo service has no answered or guard samples, and no endpoint no text", () => {
  const plain = { datagramsReceived: 1, bytesReceived: 2, datagramsSent: 3, bytesSent: 4, sendDrops: 5 };
  const text = renderPrometheus([{ endpoint: "udp:9", udp: plain }]);
  expect(text).not.toContain("twine_udp_datagrams_answered_total");
  expect(text).toContain('twine_udp_datagrams_dropped_total{endpoint="udp:9",reason="send_failed"} 5\n');
  expect(text).not.toContain('reason="low_port"');
  expect(text).not.toContain("twine_connections");
  expect(renderPrometheus([])).toBe("");
});

test("label values escape backslash, double quote and line feed, as the exposition format asks", () => {
  expect(escapeLabelValue('unix:/tmp/a "b"\\c\nd')).toBe('unix:/tmp/a \\"b\\"\\\\c\\nd');
  const text = renderPrometheus([{ endpoint: 'unix:/tmp/"x"\\y', port: port(0) }]);
  expect(text).toContain('twine_connections_open{endpoint="unix:/tmp/\\"x\\"\\\\y"} 0\n');
});

test("metric names follow the naming rules: snake case, twine_ prefix, counters end in _total, bytes named", () => {
  for (const f of METRIC_FAMILIES) {
    expect(f.name).toMatch(/^twine_[a-z0-9_]+$/);
    expect(f.name.endsWith("_total")).toBe(f.type === "counter");
    if (f.name.includes("bytes")) expect(f.name).toMatch(/_bytes(_total)?$/);
  }
  expect(new Set(METRIC_FAMILIES.map((f) => f.name)).size).toBe(METRIC_FAMILIES.length);
});

test("summing workers adds every field per endpoint, open connections included, in first-seen order", () => {
  const a: EndpointMetrics[] = [{ endpoint: "tcp:8000", port: port(1) }, { endpoint: "udp:7", udp }];
  const b: EndpointMetrics[] = [{ endpoint: "tcp:8000", port: port(2) }, { endpoint: "unix:/s", port: port(1) }];
  const sum = sumEndpointMetrics([a, b]);
  expect(sum).toEqual([
    { endpoint: "tcp:8000", port: port(3) },
    { endpoint: "udp:7", udp },
    { endpoint: "unix:/s", port: port(1) },
  ]);
  // The inputs are left as they were.
  expect(a[0]!.port).toEqual(port(1));
  expect(sumEndpointMetrics([])).toEqual([]);
});
