/**
 * The reason a connection ended, passed to `Protocol.connectionLost`.
 * `ConnectionDone` is a clean close; `ConnectionLost` (and its subclass
 * `ConnectionAborted`) an unclean one. The runtime's own error, if any, is the `cause`.
 *
 * @example
 * ```ts
 * import { ConnectionDone, ConnectionLost } from "./errors.ts";
 * const reason: ConnectionDone | ConnectionLost = new ConnectionDone();
 * reason instanceof ConnectionDone; // true: closed cleanly
 * ```
 */
export class ConnectionDone extends Error {
  /**
   * @param message What happened.
   * @default "Connection was closed cleanly"
   */
  constructor(message = "Connection was closed cleanly") {
    super(message);
    this.name = "ConnectionDone";
  }
}

/** The connection ended uncleanly: a reset, a broken pipe, a throwing protocol. */
export class ConnectionLost extends Error {
  /**
   * @param message What happened.
   * @param options `cause`: the runtime's or the protocol's error.
   * @default "Connection to the other side was lost in a non-clean fashion"
   */
  constructor(message = "Connection to the other side was lost in a non-clean fashion", options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionLost";
  }
}

/** The connection was closed by `abortConnection()`, discarding queued output. */
export class ConnectionAborted extends ConnectionLost {
  /**
   * @param message What happened.
   * @param options `cause`: why it was aborted, if not by the protocol itself.
   * @default "Connection was aborted"
   */
  constructor(message = "Connection was aborted", options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionAborted";
  }
}

/**
 * The connection was closed because nothing was read or written for `idleTimeout`. As
 * Twisted's `TimeoutMixin` does, it is closed with `loseConnection()`: what is queued is
 * sent, then FIN. It is aborted instead if that output then does not move for as long
 * again (the peer does not read), or while `startTLS()` is switching; the message says which.
 * It is a `ConnectionLost`, as `FramingError` is: the reason says why, not how it closed.
 *
 * @example
 * ```ts
 * import { ConnectionAborted, ConnectionLost, IdleTimeout } from "./errors.ts";
 * const reason = new IdleTimeout("Connection idle for 30 s");
 * reason instanceof ConnectionLost; // true
 * reason instanceof ConnectionAborted; // false
 * ```
 */
export class IdleTimeout extends ConnectionLost {
  /** @param message How long the connection was idle. */
  constructor(message: string) {
    super(message);
    this.name = "IdleTimeout";
  }
}

/**
 * A protocol callback threw, so its connection was aborted; what it threw is the `cause`.
 *
 * @example
 * ```ts
 * import { ConnectionLost, ProtocolError } from "./errors.ts";
 * const reason = new ProtocolError("Protocol raised boom", { cause: new Error("boom") });
 * reason instanceof ConnectionLost; // true
 * ```
 */
export class ProtocolError extends ConnectionLost {
  /**
   * @param message What the protocol raised.
   * @param options `cause`: what the protocol threw.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
  }
}

/**
 * The reason given for every clean close, shared as Twisted shares `connectionDone`:
 * building an Error captures a stack trace, which is measurable when connections churn.
 */
export const connectionDone: ConnectionDone = Object.freeze(new ConnectionDone());

/** Why a connection ended: clean (`ConnectionDone`) or not (`ConnectionLost`). */
export type Reason = ConnectionDone | ConnectionLost;
