/**
 * A server's metrics summed over its workers, as a supervisor serves them: the workers running
 * now are asked each time, and what exited workers had counted is kept in a base that is added
 * in, so that neither a restart nor a whole new generation of workers looks like a counter reset.
 *
 * @module
 */
import { type EndpointMetrics, sumEndpointMetrics } from "./endpoint_metrics.ts";

/** Options of {@link WorkerMetrics}. */
export interface WorkerMetricsOptions {
  /**
   * How long a worker may take to answer, in milliseconds; one that does not is counted with
   * what it last said, so that one stuck worker cannot hold up a scrape.
   * @default 3000
   */
  timeout?: number;
}

interface Live {
  readonly ask: () => Promise<readonly EndpointMetrics[]>;
  /** What it last answered: counted if it does not answer in time, or dies. */
  last: readonly EndpointMetrics[] | undefined;
}

/** The same snapshots with the gauges at zero: an exited worker holds no connection. */
function countersOnly(samples: readonly EndpointMetrics[]): EndpointMetrics[] {
  return samples.map((m) => (m.port === undefined ? m : { ...m, port: { ...m.port, connectionsOpen: 0 } }));
}

/**
 * Sums the metrics of workers that come and go. Each worker {@link join}s once it can be asked,
 * and is {@link retire}d once it has exited (with its final snapshot if it sent one, else the
 * last it answered); every counter of the sum then only grows, whatever the order of restarts,
 * answers and exits, as long as each worker's own counters only grow.
 *
 * @example
 * ```ts
 * import { WorkerMetrics } from "./worker_metrics.ts";
 * const port = { connectionsAccepted: 3, connectionsOpen: 1 } as never;
 * const workers = new WorkerMetrics<string>();
 * workers.join("worker 1", async () => [{ endpoint: "tcp:127.0.0.1:8000", port }]);
 * await workers.collect(); // [{ endpoint: "tcp:127.0.0.1:8000", port: { connectionsAccepted: 3, connectionsOpen: 1 } }]
 * workers.retire("worker 1"); // it died: its 3 connections stay counted, its open one does not
 * await workers.collect(); // [{ endpoint: "tcp:127.0.0.1:8000", port: { connectionsAccepted: 3, connectionsOpen: 0 } }]
 * ```
 */
export class WorkerMetrics<K> {
  readonly #live = new Map<K, Live>();
  readonly #timeout: number;
  #base: EndpointMetrics[] = [];

  /**
   * @param options How long a worker may take to answer.
   * @throws {RangeError} For a timeout that is not a positive number.
   */
  constructor(options: WorkerMetricsOptions = {}) {
    this.#timeout = options.timeout ?? 3000;
    if (!(this.#timeout > 0)) throw new RangeError(`Cannot sum worker metrics with timeout ${this.#timeout}: must be a positive number of milliseconds`);
  }

  /**
   * Counts a worker in from now on.
   *
   * @param worker The worker.
   * @param ask Asks it for its snapshots.
   */
  join(worker: K, ask: () => Promise<readonly EndpointMetrics[]>): void {
    if (!this.#live.has(worker)) this.#live.set(worker, { ask, last: undefined });
  }

  /**
   * Moves an exited worker's counts into the base; a second call for the same worker does nothing.
   *
   * @param worker The worker.
   * @param final Its snapshots once it had drained, if it sent them; else the last it answered counts.
   */
  retire(worker: K, final?: readonly EndpointMetrics[]): void {
    const live = this.#live.get(worker);
    if (live === undefined) return;
    this.#live.delete(worker);
    const kept = final ?? live.last;
    if (kept !== undefined) this.#base = sumEndpointMetrics([this.#base, countersOnly(kept)]);
  }

  /** How many workers are counted in now. */
  get size(): number {
    return this.#live.size;
  }

  /**
   * Asks every worker counted in, and sums what they say with the base.
   *
   * @returns One snapshot per endpoint, for the whole server.
   */
  async collect(): Promise<EndpointMetrics[]> {
    await Promise.all([...this.#live.values()].map((live) => this.#askOne(live)));
    // A worker retired while it was being asked is in the base already, and no longer here.
    const current = [...this.#live.values()].flatMap((live) => (live.last === undefined ? [] : [live.last]));
    return sumEndpointMetrics([this.#base, ...current]);
  }

  async #askOne(live: Live): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.#timeout)));
    try {
      const answer = await Promise.race([live.ask(), late]);
      if (answer !== undefined) live.last = answer;
    } catch {
      // Gone or unable to answer: what it said last still counts.
    } finally {
      clearTimeout(timer);
    }
  }
}
