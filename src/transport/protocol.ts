import type { Reason } from "./errors.ts";
import type { Factory } from "./factory.ts";
import type { Transport } from "./transport.ts";

/**
 * The base class of a connection's behaviour, as Twisted's `protocol.Protocol`.
 * Subclass it and override the callbacks you need; `this.transport` is set
 * before `connectionMade()` runs.
 *
 * @example
 * ```ts
 * import { Protocol } from "./protocol.ts";
 * class Upper extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(new TextDecoder().decode(data).toUpperCase());
 *   }
 * }
 * ```
 */
export class Protocol {
  /** The connection this protocol writes to; set by `makeConnection`. */
  transport!: Transport;
  /** The factory that built this protocol, if any. */
  factory: Factory | undefined;
  /** Whether the connection is open. */
  connected = false;
  /**
   * Whether `dataReceived` may keep its chunk after it returns. A protocol that
   * never does (it parses, copies or writes the bytes at once) sets this to `false`:
   * then an adapter may lend it a read buffer that it reuses for the next read
   * instead of allocating one per read, as uWebSockets.js does with its handlers'
   * buffers. Writing the chunk to a transport is always safe: the transport copies
   * what it has to keep. `MemoryTransport` overwrites a lent chunk as soon as
   * `dataReceived` returns, so a protocol that breaks its word fails its unit tests.
   * @default true
   */
  keepsData = true;

  /**
   * Attaches the transport and calls `connectionMade()`. Called by the transport.
   *
   * @param transport The connection.
   */
  makeConnection(transport: Transport): void {
    this.transport = transport;
    this.connected = true;
    this.connectionMade();
  }

  /** Called once the connection is open and `this.transport` is set. */
  connectionMade(): void {}

  /**
   * Called with each chunk read from the peer. Chunk boundaries are arbitrary:
   * one message may arrive in many chunks and many messages in one. The chunk is
   * the protocol's to keep, unless it sets `keepsData` to `false`.
   *
   * @param _data The bytes read.
   */
  dataReceived(_data: Uint8Array): void {}

  /**
   * Called when the peer has shut down its writing side (sent FIN): no more data
   * will arrive, but this side may still write, as Twisted's
   * `IHalfCloseableProtocol.readConnectionLost`. By default the connection is
   * closed once everything written has been sent.
   */
  readConnectionLost(): void {
    this.transport.loseConnection();
  }

  /**
   * Called exactly once when the connection has closed.
   *
   * @param _reason `ConnectionDone` for a clean close, `ConnectionLost` (or
   * `ConnectionAborted`) otherwise, with the runtime's error as its `cause`.
   */
  connectionLost(_reason: Reason): void {}
}
