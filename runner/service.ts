/**
 * Twisted's `Service` and `MultiService`: something that starts and stops with the program,
 * and a service made of others, started in order and stopped in reverse.
 *
 * @module
 */

/** Options of {@link Service.stopService}. */
export interface StopOptions {
  /**
   * How long open connections may go on before they are closed, in milliseconds, as `ListeningPort.close`.
   * @default 5000
   */
  grace?: number;
}

/** What a service counts for the summary line, by name: numbers that add up over services and workers. */
export type Counts = Record<string, number>;

/** One place a service listens, as the start line shows it. */
export interface Listener {
  /** `stream` for TCP, TLS and Unix sockets; `datagram` for UDP. */
  readonly kind: "stream" | "datagram";
  /** The endpoint type: `tcp`, `tcp6`, `ssl`, `unix` or `udp`. */
  readonly type: "tcp" | "tcp6" | "ssl" | "unix" | "udp";
  /** Where, as the start line shows it: `127.0.0.1:8000`, `ssl:[::1]:8443`, `unix:/tmp/s.sock`, `UDP 127.0.0.1:7`, `… (PROXY)`. */
  readonly where: string;
  /** The endpoint string that binds the same address again, with the port actually bound. */
  readonly endpoint: string;
  /** The port bound; 0 for a Unix socket. */
  readonly port: number;
  /** The adapter that serves it: `bun`, `deno`, `node:net`, `node:dgram`. */
  readonly adapter: string;
}

/** Adds `more` into `into`, name by name. */
export function addCounts(into: Counts, more: Counts): Counts {
  for (const [name, n] of Object.entries(more)) into[name] = (into[name] ?? 0) + n;
  return into;
}

/**
 * Something that runs while the program runs, as Twisted's `IService`: a listener, a timer, a
 * connection pool. Subclasses override {@link startService} and {@link stopService} and call
 * `super`'s, which keep {@link running}.
 *
 * @example
 * ```ts
 * import { Service } from "./service.ts";
 * class Ticker extends Service {
 *   #timer: ReturnType<typeof setInterval> | undefined;
 *   override async startService(): Promise<void> {
 *     await super.startService();
 *     this.#timer = setInterval(() => console.log("tick"), 1000);
 *   }
 *   override async stopService(): Promise<void> {
 *     clearInterval(this.#timer);
 *     await super.stopService();
 *   }
 * }
 * const ticker = new Ticker();
 * await ticker.startService();
 * await ticker.stopService();
 * ```
 */
export class Service {
  /** A name for it, as Twisted's `Service.name`; the root service's name starts the start line. */
  name: string | undefined;
  /** The {@link MultiService} it belongs to, if any. */
  parent: MultiService | undefined;
  #running = false;

  /** Whether it has started and not yet stopped. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Starts it. A service that cannot start rejects, and its parent stops what it had started.
   *
   * @returns A promise that settles once it runs.
   */
  startService(): Promise<void> {
    this.#running = true;
    return Promise.resolve();
  }

  /**
   * Stops it, letting what is in progress finish within `grace`.
   *
   * @param _options The grace period.
   * @returns A promise that settles once it has stopped.
   */
  stopService(_options: StopOptions = {}): Promise<void> {
    this.#running = false;
    return Promise.resolve();
  }

  /**
   * Adds it to `parent`, as Twisted's `setServiceParent`.
   *
   * @param parent The service it becomes part of.
   * @throws {Error} If it already has a parent.
   */
  setServiceParent(parent: MultiService): void {
    parent.addService(this);
  }

  /**
   * What it counted for the summary line; summed over services and workers.
   *
   * @returns Counts by name, e.g. `{ connections: 3 }`.
   */
  counts(): Counts {
    return {};
  }

  /**
   * Where it listens, for the start line; once started.
   *
   * @returns Its listeners, none by default.
   */
  listeners(): Listener[] {
    return [];
  }

  /**
   * What it served, for the summary line, from counts summed over every service and worker. The
   * root service's text follows `Stopped on SIGTERM: `.
   *
   * @param counts The counts.
   * @returns e.g. `served 3 connections`.
   */
  summarize(counts: Counts): string {
    return `served ${plural(counts.connections ?? 0, "connection")}`;
  }
}

/**
 * A service made of services, as Twisted's `MultiService`: starts them in the order they were
 * added and stops them in reverse; stopping twice stops once.
 *
 * @example
 * ```ts
 * import { MultiService } from "./service.ts";
 * import { StreamServerEndpointService } from "./endpoint_service.ts";
 * import { EchoFactory } from "../src/mod.ts";
 * const app = new MultiService();
 * new StreamServerEndpointService("tcp:0", new EchoFactory()).setServiceParent(app);
 * await app.startService();
 * await app.stopService({ grace: 0 });
 * ```
 */
export class MultiService extends Service {
  readonly #services: Service[] = [];
  #stopping: Promise<void> | undefined;

  /** @param services Services to add at once, in order. */
  constructor(services: Iterable<Service> = []) {
    super();
    for (const service of services) this.addService(service);
  }

  /** The services, in the order they start. */
  get services(): readonly Service[] {
    return this.#services;
  }

  /**
   * Adds a service; it is not started here, even if this one runs.
   *
   * @param service The service.
   * @throws {Error} If it already has a parent.
   */
  addService(service: Service): void {
    if (service.parent !== undefined) throw new Error("Cannot add a service that already has a parent");
    service.parent = this;
    this.#services.push(service);
  }

  /**
   * Removes a service; it is not stopped here.
   *
   * @param service The service.
   */
  removeService(service: Service): void {
    const at = this.#services.indexOf(service);
    if (at < 0) return;
    this.#services.splice(at, 1);
    service.parent = undefined;
  }

  /**
   * Starts every service in order. If one fails, those already started are stopped at once and the
   * failure is rethrown.
   *
   * @returns A promise that settles once all run.
   */
  override async startService(): Promise<void> {
    this.#stopping = undefined;
    await super.startService();
    const started: Service[] = [];
    try {
      for (const service of this.#services) {
        await service.startService();
        started.push(service);
      }
    } catch (error) {
      await Promise.allSettled(started.reverse().map((s) => s.stopService({ grace: 0 })));
      await super.stopService();
      throw error;
    }
  }

  /**
   * Stops every service, the last added first; they drain at the same time, within `grace`.
   *
   * @param options The grace period.
   * @returns A promise that settles once all have stopped; the same one when called again.
   */
  override stopService(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= (async () => {
      // Asked in reverse order, as Twisted does; each drains on its own, so they finish together.
      const stops = [...this.#services].reverse().filter((s) => s.running).map((s) => s.stopService(options));
      const results = await Promise.allSettled(stops);
      await super.stopService();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed !== undefined) throw failed.reason;
    })();
    return this.#stopping;
  }

  /** @returns The counts of every service, summed. */
  override counts(): Counts {
    return this.#services.reduce((sum, s) => addCounts(sum, s.counts()), {});
  }

  /** @returns The listeners of every service, in order. */
  override listeners(): Listener[] {
    return this.#services.flatMap((s) => s.listeners());
  }
}

/**
 * `n noun` or `n nouns`.
 *
 * @param n The number.
 * @param noun The singular noun.
 * @returns e.g. `1 connection`, `2 connections`.
 */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
