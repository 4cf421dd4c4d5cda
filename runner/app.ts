/**
 * What `serve()` returns: a running server, in this process or in workers.
 *
 * @module
 */
import type { EndpointMetrics } from "./metrics/endpoint_metrics.ts";
import type { ProcessStatus, Summary } from "./report.ts";
import type { Listener, Service } from "./service.ts";

/** A running server. */
export interface App {
  /** The root service; in a supervisor it was built to check it and name it, but runs in the workers. */
  readonly service: Service;
  /** Where it listens, as worker 1 reports it under a supervisor. */
  readonly listeners: readonly Listener[];
  /** Where it listens, as the start line shows it: `127.0.0.1:8000`, `ssl:127.0.0.1:8443`, `unix:/tmp/s.sock`, `UDP 127.0.0.1:7`. */
  readonly addresses: readonly string[];
  /** The ports bound, in the order of `listen` (Unix sockets have none). */
  readonly ports: readonly number[];
  /** How many processes serve. */
  readonly workers: number;
  /** This process's worker number, from 1; undefined in a supervisor or a server without workers. */
  readonly worker: number | undefined;
  /** Settles once it has stopped, with its one summary. */
  readonly stopped: Promise<Summary>;
  /** Whether it is draining (or has stopped): from the first signal or `stop()` on; `/healthz` then answers 503. */
  readonly draining: boolean;
  /**
   * Drains it within the grace period and stops it, as SIGTERM does.
   *
   * @param reason What the summary line names: `Stopped on REASON: …`.
   * @returns The summary.
   */
  stop(reason?: string): Promise<Summary>;
  /** @returns What each serving process says about itself: open connections and counts so far. */
  status(): Promise<ProcessStatus[]>;
  /**
   * What every endpoint has counted so far, as `GET /metrics` serves it: one snapshot per
   * endpoint, summed over workers (in a supervisor; a worker gives its own), with what workers
   * that have exited counted kept in, so that no counter ever goes down.
   *
   * @returns The snapshots, labelled where each endpoint listens (`tcp:127.0.0.1:8000`).
   */
  metrics(): Promise<EndpointMetrics[]>;
  /**
   * What SIGHUP does: with workers, starts a new generation (which loads the module and the
   * certificates afresh) and drains the old one once every new worker listens; without, reads
   * the certificate and key of every `ssl:` listener again for new handshakes. In a worker it
   * does nothing: its supervisor reloads.
   *
   * @returns The outcome, once it is known; it never rejects, a failed reload leaves the old workers or certificates serving.
   */
  reload(): Promise<ReloadResult>;
}

/** How a reload went. */
export interface ReloadResult {
  /** Whether everything was replaced: false if it failed, was ignored or had nothing to reload. */
  readonly ok: boolean;
  /** The one line it logged, such as `Reloaded: 2 workers (pids 4301, 4302) replaced 2`. */
  readonly line: string;
}

/**
 * The app's fields that derive from its listeners.
 *
 * @param listeners Where it listens.
 * @returns `listeners`, `addresses` and `ports`.
 */
export function where(listeners: readonly Listener[]): Pick<App, "listeners" | "addresses" | "ports"> {
  return {
    listeners,
    addresses: listeners.map((l) => l.where),
    ports: listeners.filter((l) => l.type !== "unix").map((l) => l.port),
  };
}
