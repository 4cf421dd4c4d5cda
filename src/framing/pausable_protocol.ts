import { Protocol } from "../transport/protocol.ts";
import type { Producer } from "../transport/transport.ts";

const EMPTY = new Uint8Array(0);

/**
 * A protocol that holds back what it has parsed while paused, as Twisted's
 * `_PauseableMixin`: the base of the framing receivers, which may hold several
 * messages from one chunk when their consumer asks them to stop.
 */
export abstract class PausableProtocol extends Protocol implements Producer {
  /** Whether `pauseProducing()` has stopped delivery, as Twisted's `paused`. */
  paused = false;

  /** Stops delivering messages and reading from the peer; those held wait for `resumeProducing()`. */
  pauseProducing(): void {
    this.paused = true;
    this.transport.pauseProducing();
  }

  /** Delivers the messages held, and reads from the peer again. */
  resumeProducing(): void {
    this.paused = false;
    this.transport.resumeProducing();
    this.dataReceived(EMPTY);
  }

  /** Stops for good: delivers nothing more and closes the connection. */
  stopProducing(): void {
    this.paused = true;
    this.transport.loseConnection();
  }
}
