/**
 * The metrics of a server's endpoints, as one list a worker can send its supervisor and
 * the supervisor can sum: see {@link EndpointMetrics} and {@link sumEndpointMetrics}.
 *
 * @module
 */
import type { PortMetrics } from "../../src/transport/port_metrics.ts";
import type { DatagramPortMetrics } from "../../src/udp/datagram_port.ts";
import type { EchoDatagramMetrics } from "../../src/udp/udp_echo.ts";

/** A UDP endpoint's counters: the socket's, and the echo protocol's where it is one. */
export type UdpMetrics = DatagramPortMetrics & Partial<EchoDatagramMetrics>;

/**
 * One endpoint's snapshot, labelled by the endpoint as configured. Plain data (strings and
 * numbers), so it crosses a process boundary as JSON unchanged.
 *
 * @example
 * ```ts
 * import type { EndpointMetrics } from "./endpoint_metrics.ts";
 * import { listenEndpoint } from "../../adapters/mod.ts";
 * import { EchoFactory } from "../../src/mod.ts";
 * const port = await listenEndpoint(new EchoFactory(), "tcp:0");
 * const sample: EndpointMetrics = { endpoint: "tcp:0", port: port.metrics() };
 * await port.close();
 * ```
 */
export interface EndpointMetrics {
  /** The endpoint as the user wrote it (`tcp:8000`, `ssl:8443:...`, `udp:7`): the `endpoint` label. */
  readonly endpoint: string;
  /** A stream listener's snapshot (`tcp:`, `tcp6:`, `ssl:`, `unix:`, behind `haproxy:` or not). */
  readonly port?: PortMetrics;
  /** A UDP socket's snapshot, with the echo protocol's counts where it has them. */
  readonly udp?: UdpMetrics;
}

function add<T extends object>(a: T | undefined, b: T | undefined): T | undefined {
  if (a === undefined) return b === undefined ? undefined : { ...b };
  if (b === undefined) return a;
  const out: Record<string, number> = { ...(a as Record<string, number>) };
  for (const [key, value] of Object.entries(b as Record<string, number>)) out[key] = (out[key] ?? 0) + value;
  return out as T;
}

/**
 * Sums the snapshots of several workers endpoint by endpoint, field by field (`connectionsOpen`
 * too: the open connections of the whole server). Endpoints keep the order in which they first appear.
 *
 * @param workers Each worker's list of endpoint snapshots.
 * @returns One snapshot per endpoint, for the whole server.
 * @example
 * ```ts
 * import { sumEndpointMetrics } from "./endpoint_metrics.ts";
 * const udp = { datagramsReceived: 1, bytesReceived: 3, datagramsSent: 1, bytesSent: 3, sendDrops: 0 };
 * sumEndpointMetrics([[{ endpoint: "udp:7", udp }], [{ endpoint: "udp:7", udp }]]);
 * // [{ endpoint: "udp:7", udp: { datagramsReceived: 2, bytesReceived: 6, datagramsSent: 2, bytesSent: 6, sendDrops: 0 } }]
 * ```
 */
export function sumEndpointMetrics(workers: readonly (readonly EndpointMetrics[])[]): EndpointMetrics[] {
  const sums = new Map<string, { port?: PortMetrics; udp?: UdpMetrics }>();
  for (const samples of workers) {
    for (const { endpoint, port, udp } of samples) {
      const sum = sums.get(endpoint) ?? {};
      sums.set(endpoint, { port: add(sum.port, port), udp: add(sum.udp, udp) });
    }
  }
  return [...sums].map(([endpoint, { port, udp }]) => ({
    endpoint,
    ...(port === undefined ? {} : { port: Object.freeze(port) }),
    ...(udp === undefined ? {} : { udp: Object.freeze(udp) }),
  }));
}
