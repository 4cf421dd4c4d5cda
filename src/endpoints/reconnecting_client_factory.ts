import type { Address } from "../transport/address.ts";
import { ClientFactory, type Connector } from "./client.ts";
import type { ConnectError } from "./connect_error.ts";
import type { Reason } from "../transport/errors.ts";
import type { Protocol } from "../transport/protocol.ts";

/**
 * Connects again after a failure or a lost connection, waiting longer each time, as
 * Twisted's `ReconnectingClientFactory`: the delay grows by `factor` up to `maxDelay`
 * with normally distributed `jitter`, and is reset once a connection is made
 * (Twisted leaves that to `buildProtocol`; here `buildProtocol` does it). Delays are in seconds.
 */
export class ReconnectingClientFactory<P extends Protocol = Protocol> extends ClientFactory<P> {
  /** The longest wait between attempts, in seconds. @default 3600 */
  maxDelay = 3600;
  /** The first wait, in seconds. @default 1 */
  initialDelay = 1.0;
  /** How much the wait grows after each failure: e. @default 2.718281828459045 */
  factor = 2.718281828459045;
  /** Standard deviation of the wait, as a fraction of it. @default 0.11962656472 */
  jitter = 0.11962656472;
  /** Attempts after which it gives up; `undefined` never does. @default undefined */
  maxRetries: number | undefined = undefined;
  /**
   * The current delay, in seconds, which the next one grows from; as in Twisted, it starts at the
   * default `initialDelay` and `resetDelay()` sets it from the field. The wait scheduled is the
   * jittered delay, or 0 if jitter drew it below zero (the delay is then not lowered).
   */
  delay = 1.0;
  /** Attempts since the last connection. */
  retries = 0;
  /** Whether it still reconnects; `stopTrying()` clears it. */
  continueTrying = true;
  /** The connector it reconnects with. */
  connector: Connector | undefined;
  /** A uniform random number in [0, 1); replace it to make the jitter predictable in tests. */
  random: () => number = Math.random;

  /**
   * Builds the protocol and resets the delay: a connection was made.
   *
   * @param addr The peer's address.
   * @returns The protocol.
   */
  override buildProtocol(addr: Address): P | null {
    this.resetDelay();
    return super.buildProtocol(addr);
  }

  /** {@inheritDoc ClientFactory.startedConnecting} */
  override startedConnecting(connector: Connector): void {
    this.connector = connector;
  }

  /** {@inheritDoc ClientFactory.clientConnectionFailed} */
  override clientConnectionFailed(connector: Connector, _reason: ConnectError): void {
    if (this.continueTrying) this.retry(connector);
  }

  /** {@inheritDoc ClientFactory.clientConnectionLost} */
  override clientConnectionLost(connector: Connector, _reason: Reason): void {
    if (this.continueTrying) this.retry(connector);
  }

  /**
   * Schedules the next attempt after the grown, jittered delay. Does nothing once
   * `stopTrying()` was called or `maxRetries` is reached.
   *
   * @param connector The connector; the last one used when not given.
   * @throws {Error} If no connector is given and none was used yet, as Twisted's "no connector to retry".
   */
  retry(connector: Connector | undefined = this.connector): void {
    if (!this.continueTrying) return;
    if (connector === undefined) throw new Error("Cannot retry: the factory has no connector yet (connect it first)");
    this.connector = connector;
    this.retries++;
    if (this.maxRetries !== undefined && this.retries > this.maxRetries) return;
    this.delay = Math.min(this.delay * this.factor, this.maxDelay);
    let wait = this.delay;
    if (this.jitter) {
      wait = this.#normal(this.delay, this.delay * this.jitter);
      // As Twisted's, the next delay grows from the jittered one; but a draw at or below zero
      // would leave nothing to grow from (every later retry at once), so then the delay stays
      // as grown and only this attempt goes at once.
      if (wait > 0) this.delay = wait;
    }
    connector.retryAfter(Math.max(0, wait) * 1000);
  }

  /** Stops reconnecting, and stops an attempt under way. */
  stopTrying(): void {
    this.continueTrying = false;
    this.connector?.stopConnecting();
  }

  /** Starts over from `initialDelay`, and trying again. */
  resetDelay(): void {
    this.delay = this.initialDelay;
    this.retries = 0;
    this.continueTrying = true;
  }

  // Box-Muller, as Python's random.normalvariate gives Twisted its jitter.
  #normal(mean: number, deviation: number): number {
    const u = 1 - this.random();
    const v = this.random();
    return mean + deviation * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
