/**
 * The service that listens on a stream endpoint while it runs, as Twisted's `StreamServerEndpointService`.
 *
 * @module
 */
import { type AutoListeningPort, type AutoListenOptions, listenEndpoint } from "../adapters/listen.ts";
import {
  describeServerEndpoint,
  formatServerEndpoint,
  parseServerEndpoint,
  type ServerEndpoint,
  type UdpServerEndpoint,
} from "../src/endpoints/endpoints.ts";
import { type Address, formatAddress } from "../src/transport/address.ts";
import { Factory } from "../src/transport/factory.ts";
import type { Protocol } from "../src/transport/protocol.ts";
import type { EndpointMetrics } from "./metrics/endpoint_metrics.ts";
import { type Counts, type Listener, Service, type StopOptions } from "./service.ts";

/** Builds the wrapped factory's protocols and counts the connections it accepted. */
class CountingFactory extends Factory {
  readonly #inner: Factory;
  count = 0;

  constructor(inner: Factory) {
    super();
    this.#inner = inner;
  }

  override buildProtocol(addr: Address): Protocol | null {
    const protocol = this.#inner.buildProtocol(addr);
    if (protocol !== null) this.count++;
    return protocol;
  }

  override doStart(): void {
    this.#inner.doStart();
  }

  override doStop(): void {
    this.#inner.doStop();
  }
}

/** The endpoint a stream endpoint string or description names, checked now. */
function streamEndpoint(endpoint: string | ServerEndpoint): Exclude<ServerEndpoint, UdpServerEndpoint> {
  const e = typeof endpoint === "string" ? parseServerEndpoint(endpoint) : endpoint;
  if (e.type === "udp") {
    throw new TypeError(`Cannot serve '${formatServerEndpoint(e)}' with a factory: udp: takes a DatagramProtocol`);
  }
  return e;
}

/**
 * Listens on a stream endpoint (`tcp:`, `tcp6:`, `ssl:`, `unix:`, any behind `haproxy:`) while it
 * runs, as Twisted's `StreamServerEndpointService`; stopping closes the port, letting open
 * connections finish within the grace period. It counts the connections its factory accepted.
 *
 * @example
 * ```ts
 * import { StreamServerEndpointService } from "./endpoint_service.ts";
 * import { EchoFactory } from "../src/mod.ts";
 * const service = new StreamServerEndpointService("tcp:0", new EchoFactory());
 * await service.startService();
 * console.log(service.port!.address.port);
 * await service.stopService({ grace: 1000 });
 * ```
 */
export class StreamServerEndpointService extends Service {
  /** The endpoint, parsed. */
  readonly endpoint: Exclude<ServerEndpoint, UdpServerEndpoint>;
  /** The factory given. */
  readonly factory: Factory;
  /** The options every connection gets. */
  readonly options: AutoListenOptions;
  /** The listening port, while it runs. */
  port: AutoListeningPort | undefined;
  readonly #counting: CountingFactory;

  /**
   * @param endpoint An endpoint string or its parsed description; not `udp:`.
   * @param factory Builds a protocol per connection.
   * @param options Adapter, limits and watermarks, as `listenEndpoint` takes them.
   * @throws {TypeError} For a malformed endpoint string, or a `udp:` one.
   * @throws {RangeError} For a bad port, backlog or mode.
   */
  constructor(endpoint: string | ServerEndpoint, factory: Factory, options: AutoListenOptions = {}) {
    super();
    this.endpoint = streamEndpoint(endpoint);
    this.factory = factory;
    this.options = options;
    this.#counting = new CountingFactory(factory);
  }

  /** Connections accepted so far (with a PROXY header, those that sent one). */
  get connections(): number {
    return this.#counting.count;
  }

  /**
   * Listens.
   *
   * @returns A promise that settles once bound.
   * @throws {ListenError} If the endpoint cannot be bound (the promise rejects).
   */
  override async startService(): Promise<void> {
    this.port = await listenEndpoint(this.#counting, this.endpoint, this.options);
    await super.startService();
  }

  /**
   * Stops accepting and closes the port once its connections have finished, within `grace`.
   *
   * @param options The grace period.
   * @returns A promise that settles once every connection has closed.
   */
  override async stopService(options: StopOptions = {}): Promise<void> {
    await this.port?.close(options);
    await super.stopService();
  }

  /** @returns `{ connections }`. */
  override counts(): Counts {
    return { connections: this.connections };
  }

  /** @returns Where it listens, once started. */
  override listeners(): Listener[] {
    if (this.port === undefined) return [];
    const e = this.endpoint;
    const bound = e.type === "unix" ? e : { ...e, port: this.port.address.port };
    const where = (e.type === "ssl" ? "ssl:" : "") + formatAddress(this.port.address) + (e.proxyProtocol || this.options.proxyProtocol ? " (PROXY)" : "");
    return [{
      kind: "stream",
      type: e.type,
      where,
      endpoint: formatServerEndpoint(bound),
      port: e.type === "unix" ? 0 : this.port.address.port,
      adapter: this.port.adapter,
    }];
  }

  /** @returns Its port's snapshot, labelled where it listens (`tcp:127.0.0.1:8000`, `unix:/run/s.sock`), once started. */
  override metrics(): EndpointMetrics[] {
    if (this.port === undefined) return [];
    const e = this.endpoint;
    return [{ endpoint: describeServerEndpoint(e.type === "unix" ? e : { ...e, port: this.port.address.port }), port: this.port.metrics() }];
  }
}
