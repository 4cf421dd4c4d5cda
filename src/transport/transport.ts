import type { Address } from "./address.ts";
import type { Reason } from "./errors.ts";

/**
 * Something that produces data and can be told to stop and go on, as Twisted's
 * `IPushProducer`. A transport is itself a producer of the data it reads.
 */
export interface Producer {
  /** Stop producing until `resumeProducing()` is called. */
  pauseProducing(): void;
  /** Go on producing after `pauseProducing()`. */
  resumeProducing(): void;
  /** Stop producing for good. Optional. */
  stopProducing?(): void;
}

/**
 * What a protocol writes to: one end of a connection, as Twisted's `ITCPTransport`.
 * Writes never block and never fail; output that the peer has not yet taken is
 * queued, and while more than the high-water mark is queued the transport stops
 * reading from the peer (and pauses a registered producer) until the queue drains
 * below the low-water mark. An error on the connection reaches the protocol's
 * `connectionLost`, not the writer.
 */
export interface Transport extends Producer {
  /**
   * Queues data for the peer. The transport may keep a reference to `data` until
   * it is sent, so do not change the bytes afterwards. Ignored once the
   * connection is closing.
   *
   * @param data The bytes, or a string to send as UTF-8.
   */
  write(data: Uint8Array | string): void;
  /**
   * Writes several chunks as one.
   *
   * @param data The chunks, in order.
   */
  writeSequence(data: Iterable<Uint8Array | string>): void;
  /**
   * Closes the connection once everything queued has been sent. Safe to call twice.
   *
   * @param reason What `connectionLost` receives if the close completes cleanly, e.g. a
   * protocol error saying what the peer got wrong. Only the first call's reason counts.
   * @default connectionDone
   */
  loseConnection(reason?: Reason): void;
  /**
   * Sends FIN once everything queued has been sent and goes on reading, as Twisted's
   * `ITCPTransport.loseWriteConnection`. Later writes are ignored. Safe to call twice.
   */
  loseWriteConnection(): void;
  /** Closes the connection now, discarding queued output. Safe to call at any time. */
  abortConnection(): void;
  /** @returns The address of the other end. */
  getPeer(): Address;
  /** @returns The address of this end. */
  getHost(): Address;
  /**
   * Bytes written but not yet taken by the operating system. On Deno native, which keeps one
   * write in flight and queues what comes meanwhile, up to 128 KiB (or the high-water mark, if
   * lower) of that count as taken until a write comes back short: the queue goes out as one
   * write as soon as the one in flight is done, in the same turn of the event loop, so a burst
   * written in one synchronous run does not look like a slow peer.
   */
  readonly bufferSize: number;
  /** Whether the connection is closing or closed. */
  readonly disconnecting: boolean;
  /**
   * Asks the transport to pause `producer` while its queue is above the
   * high-water mark and resume it once below the low-water mark, as Twisted's
   * `registerProducer(producer, streaming=True)`.
   *
   * @param producer The producer to throttle.
   * @throws {Error} If a producer is already registered.
   */
  registerProducer(producer: Producer): void;
  /** Forgets the registered producer. */
  unregisterProducer(): void;
}
