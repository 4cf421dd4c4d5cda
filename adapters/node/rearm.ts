/**
 * Keeps Deno's `node:net` listeners (TCP, TLS and Unix) accepting after they run out of
 * descriptors, or says loudly that they cannot.
 *
 * Deno's `node:net` drops a failed accept (out of descriptors) without a word and never
 * polls its listener again: the accept loop ends on the error and leaves no waker (deno
 * libs/core/uv_compat/tcp.rs `poll_tcp_handle`, and the same loop in pipe.rs
 * `poll_pipe_handle`). Marking the handle ready now and then resumes accepting once
 * descriptors are free.
 *
 * @module
 */
/** How often a listener is re-armed; descriptors freed are used within this. */
export const REARM_MS = 100;

/** The slice of Deno's listening handle (`TCPWrap` or `PipeWrap`) that re-arming uses. */
export interface ListenerHandle {
  listen?: (backlog: number) => number;
  readStart?: () => number;
  readStop?: () => number;
  onread?: unknown;
}

/** The slice of a `net.Server` (or `tls.Server`) that re-arming uses. */
export interface RearmableServer {
  /** The listening handle; `null` once closed. */
  _handle?: ListenerHandle | null;
}

/** A timer: a number on Deno, an object on Node and Bun. */
type Timer = number | { unref?: () => void };

/** Lets the process exit with the timer still set: the listener, not the timer, keeps it up. */
function unref(timer: Timer): void {
  if (typeof timer === "object") timer.unref?.();
  else (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno?.unrefTimer?.(timer);
}

/** What {@link keepAccepting} returns: stops re-arming, as the port closes. */
export type StopRearming = () => void;

/** Runs a re-arming call; one that throws (a permission check, say) counts as failed. */
function attempt(rearm: () => number): number | string {
  try {
    return rearm();
  } catch (error) {
    return String((error as Error)?.message ?? error).split("\n")[0]!;
  }
}

/**
 * Finds how to make Deno poll a listening handle again.
 *
 * On a `TCPWrap` that listens, `listen()` only marks the handle ready. On a `PipeWrap` it fails
 * (`EINVAL`: its descriptor has moved into the listener), but `readStart()` marks it ready too;
 * with no stream behind it, it reads nothing, and `readStop()` right after undoes the rest.
 *
 * @param handle The server's listening handle.
 * @returns A function that re-arms it and returns 0 or a negative errno, or `undefined` if neither way works.
 */
export function rearmer(handle: ListenerHandle | null | undefined): (() => number) | undefined {
  if (handle === null || handle === undefined) return undefined;
  if (typeof handle.listen === "function") {
    // The backlog is ignored on a handle that already listens.
    const relisten = () => handle.listen!(511);
    if (attempt(relisten) === 0) return relisten;
  }
  if (typeof handle.readStart === "function" && typeof handle.readStop === "function") {
    // readStart insists on a read callback; a listener never calls it.
    if (typeof handle.onread !== "function") handle.onread = () => {};
    const restart = () => {
      const status = handle.readStart!();
      handle.readStop!();
      return status;
    };
    if (attempt(restart) === 0) return restart;
  }
  return undefined;
}

/**
 * On Deno, re-arms a listening `node:net` server every {@link REARM_MS}; elsewhere does nothing.
 *
 * @param server The `net.Server` or `tls.Server`, already listening (its `_handle` is read, see {@link RearmableServer}).
 * @param lost Called once if re-arming stops working (the listener would then stall), with a lower-case one-line reason.
 * @param onDeno Whether this is Deno's `node:net` (tests pass `true`).
 * @returns Stops re-arming.
 * @throws {Error} On Deno, if the handle can be re-armed in no known way: a listener that may stall silently must not start.
 */
export function keepAccepting(
  server: object,
  lost: (error: Error) => void,
  onDeno = (globalThis as { Deno?: unknown }).Deno !== undefined,
): StopRearming {
  if (!onDeno) return () => {};
  const listener = server as RearmableServer;
  const handle = listener._handle;
  const rearm = rearmer(handle);
  if (rearm === undefined) {
    throw new Error("cannot re-arm Deno's node:net listener (its handle has no working listen or readStart), so it could stop accepting for good");
  }
  const timer: Timer = setInterval(() => {
    // Closed (the port stops the timer first, but a handle may also go by itself).
    if (listener._handle !== handle) return clearInterval(timer as never);
    const status = attempt(rearm);
    if (status === 0) return;
    clearInterval(timer as never);
    lost(new Error(`cannot re-arm Deno's node:net listener (${typeof status === "number" ? `error ${status}` : status}), so it would stop accepting for good after running out of descriptors`));
  }, REARM_MS) as unknown as Timer;
  unref(timer);
  return () => clearInterval(timer as never);
}
