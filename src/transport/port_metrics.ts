/**
 * What a listening port counts, as one plain object: see {@link PortMetrics}.
 *
 * @module
 */

/**
 * A snapshot of one listening port's counters and gauges, as `port.metrics()` returns it:
 * a frozen object of numbers, so that snapshots from several ports or workers can be
 * summed field by field. Counters only grow while the port lives; `connectionsOpen` is a gauge.
 *
 * @example
 * ```ts
 * import { EchoFactory, Port, tcpAddress } from "../mod.ts";
 * const port = new Port(new EchoFactory(), tcpAddress("127.0.0.1", 8000), {}, () => {});
 * port.metrics().connectionsAccepted; // 0
 * ```
 */
export interface PortMetrics {
  /** Connections the listener took, including those then refused or closed because the port was closing. */
  readonly connectionsAccepted: number;
  /** Connections closed at once because `maxConnections` were open. */
  readonly connectionsRefused: number;
  /** Connections open now (a gauge). */
  readonly connectionsOpen: number;
  /** Bytes read from peers (after TLS, PROXY header included); 0 with `metrics: false`. */
  readonly bytesRead: number;
  /** Bytes handed to the runtime's sockets for sending (before TLS); 0 with `metrics: false`. */
  readonly bytesWritten: number;
  /** Accepts that failed because the peer was gone before its accept completed (normal traffic, not logged). */
  readonly acceptFailuresPeerGone: number;
  /** Accepts that failed for a shortage of descriptors, buffers or memory. */
  readonly acceptFailuresResources: number;
  /** Accepts that failed for any other reason. */
  readonly acceptFailuresOther: number;
  /** TLS handshakes completed on a TLS listener. */
  readonly tlsHandshakesCompleted: number;
  /** TLS handshakes that failed or did not finish in time on a TLS listener. */
  readonly tlsHandshakesFailed: number;
  /** Connections closed because their PROXY protocol header was missing, malformed or late. */
  readonly proxyHeadersRejected: number;
  /** Connections closed by the idle timeout. */
  readonly connectionsClosedIdle: number;
  /** Connections closed because the peer broke the framing (`FramingError`) or the protocol or factory threw. */
  readonly connectionsClosedProtocolError: number;
}

/** The names of {@link PortMetrics}' fields, in the order documented. */
export const PORT_METRIC_NAMES: readonly (keyof PortMetrics)[] = Object.freeze([
  "connectionsAccepted",
  "connectionsRefused",
  "connectionsOpen",
  "bytesRead",
  "bytesWritten",
  "acceptFailuresPeerGone",
  "acceptFailuresResources",
  "acceptFailuresOther",
  "tlsHandshakesCompleted",
  "tlsHandshakesFailed",
  "proxyHeadersRejected",
  "connectionsClosedIdle",
  "connectionsClosedProtocolError",
]);
