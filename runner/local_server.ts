/**
 * One process serving a service: starts it, drains it on a signal or `stop()` within the grace
 * period, and makes its summary. Both a server without workers and each worker run one.
 *
 * @module
 */
import process from "node:process";
import { serveEvent, stoppedEvent } from "./log.ts";
import { openConnections } from "./serve_options.ts";
import { type ProcessStatus, type ServeLog, stoppedLine, type Summary } from "./report.ts";
import { type Service, plural } from "./service.ts";
import { SignalEchoes } from "./signal_echoes.ts";

/** Options of {@link LocalServer}. */
export interface LocalServerOptions {
  /** Seconds open connections may take to finish once stopping. */
  readonly grace: number;
  /** Where lines go, formatted for this process. */
  readonly log: ServeLog;
  /** Whether SIGINT and SIGTERM stop it. */
  readonly signals: boolean;
  /** Whether it says "Stopping on …" and prints its summary; a worker leaves both to its supervisor. */
  readonly announce: boolean;
  /** This worker's number; 0 without workers. */
  readonly worker: number;
  /**
   * A `node:cluster` worker, which shares its supervisor's process group: one Ctrl-C reaches it
   * directly and as the supervisor's message, in either order, and counts as one request.
   */
  readonly clusterWorker?: boolean;
  /**
   * What SIGHUP does, when `signals` is set; without it SIGHUP is ignored, so that a worker is not
   * killed by a hang-up meant for its supervisor.
   */
  readonly onHangup?: () => void;
}

/** A service running in this process. */
export class LocalServer {
  /** The root service. */
  readonly root: Service;
  /** Settles once it has stopped, with its summary. */
  readonly stopped: Promise<Summary>;
  readonly #options: LocalServerOptions;
  #finish!: (summary: Summary) => void;
  #stopping: Promise<Summary> | undefined;
  readonly #asked = new Set<"signal" | "message">();
  readonly #echoes = new SignalEchoes();
  readonly #onSigint = () => this.request("SIGINT", "signal");
  readonly #onSigterm = () => this.request("SIGTERM", "signal");
  readonly #onSighup = () => this.#options.onHangup?.();

  /**
   * @param root The service, not started.
   * @param options Grace period, lines, signals.
   */
  constructor(root: Service, options: LocalServerOptions) {
    this.root = root;
    this.#options = options;
    this.stopped = new Promise((resolve) => (this.#finish = resolve));
  }

  /** Whether it is stopping or has stopped. */
  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  /**
   * Starts the service, then listens for SIGINT, SIGTERM and SIGHUP.
   *
   * @returns A promise that settles once it runs.
   * @throws {ListenError} If an endpoint cannot be bound (the promise rejects; nothing is left listening).
   */
  async start(): Promise<void> {
    await this.root.startService();
    if (this.#options.signals) {
      process.on("SIGINT", this.#onSigint);
      process.on("SIGTERM", this.#onSigterm);
      process.on("SIGHUP", this.#onSighup);
    }
  }

  /**
   * A stop request, by a signal or (in a cluster worker) the supervisor's message: the first
   * drains, a second exits at once with status 1.
   *
   * @param signal The signal asked for.
   * @param way How it came.
   */
  request(signal: string, way: "signal" | "message" = "signal"): void {
    if (way === "signal" && this.#echoes.echo(signal)) return;
    const echo = this.#options.clusterWorker === true && this.#stopping !== undefined && !this.#asked.has(way);
    this.#asked.add(way);
    if (echo) return;
    if (this.#stopping !== undefined) {
      this.#options.log(`${signal} again, exiting now`, "error", serveEvent("stop_forced", "error", { signal }));
      process.exit(1);
    }
    if (this.#options.announce) {
      const connections = openConnections(this.root);
      const grace = this.#options.grace;
      this.#options.log(
        `Stopping on ${signal}: ${plural(connections, "connection")} draining for up to ${grace} s (${signal} again stops at once)`,
        "notice",
        serveEvent("stopping", "info", { signal, connections, grace }),
      );
    }
    void this.stop(signal);
  }

  /**
   * Drains and stops the service.
   *
   * @param reason What the summary line names.
   * @returns The summary; the same one when called again.
   */
  stop(reason?: string): Promise<Summary> {
    this.#stopping ??= this.#stop(reason, this.#options.grace * 1000, 0);
    return this.#stopping;
  }

  /**
   * Stops at once with status 1 and no summary line: a listener stopped for good and has said why,
   * and a server that can no longer accept must not stay up.
   *
   * @returns The summary.
   */
  lose(): Promise<Summary> {
    this.#stopping ??= this.#stop(undefined, 0, 1);
    return this.#stopping;
  }

  /** @returns What this process says about itself. */
  status(): ProcessStatus {
    return { worker: this.#options.worker, pid: process.pid, connections: openConnections(this.root), counts: this.root.counts() };
  }

  async #stop(reason: string | undefined, grace: number, code: number): Promise<Summary> {
    try {
      await this.root.stopService({ grace });
    } catch (error) {
      const message = String((error as Error)?.message ?? error).split("\n")[0]!;
      this.#options.log(`Cannot stop cleanly: ${message}`, "error", serveEvent("stop_failed", "error", { error: message }));
      code = 1;
    }
    process.off("SIGINT", this.#onSigint);
    process.off("SIGTERM", this.#onSigterm);
    process.off("SIGHUP", this.#onSighup);
    const counts = this.root.counts();
    const line = code === 0 ? stoppedLine(reason, this.root.summarize(counts)) : undefined;
    if (line !== undefined && this.#options.announce) this.#options.log(line, "info", stoppedEvent(reason, counts));
    const summary: Summary = { reason, code, counts, workers: [], line };
    this.#finish(summary);
    return summary;
  }
}
