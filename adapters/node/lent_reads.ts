/**
 * Reads into one reused buffer on the sockets Node's `node:net` server accepts, for protocols
 * that keep no chunk (`keepsData = false`, as the echo).
 *
 * Per read, `node:net` allocates a `Buffer` (a `malloc`, an `ArrayBuffer`, its backing store)
 * and passes it through `Readable`'s push and read before 'data' fires: about a quarter of the
 * CPU an echoed 64-byte message costs. Its `onread` option reads into a buffer of the caller's
 * instead and calls back at once, but only a socket built with `new net.Socket` takes it, not
 * one the server accepts. So once a connection whose protocol keeps no chunk has read a few
 * times, its handle moves into a socket built with `onread` (the `handle` option Node itself
 * uses to pass sockets between processes). Only on Node:
 * Bun's and Deno's `node:net` implement `onread` differently, or not for this.
 *
 * @module
 */
import net from "node:net";
import process from "node:process";
import type { Connection } from "../../src/transport/connection.ts";
import { countRead } from "./read_garbage.ts";
import { type NodeSocket, wiredTo } from "./socket.ts";

// A connection's buffer starts small, as most reads of a request-response protocol are, and
// doubles while reads fill it, up to libuv's own read size, so that a stream takes what the
// kernel holds in one read; it starts small again once reads are small again. Held by every
// connection for as long as it lives: an idle one holds only the smallest.
const SMALLEST = 256;
const LARGEST = 64 * 1024;

/** Whether this runtime's accepted sockets can read into a lent buffer: Node's own `node:net` only. */
export const canLendReads: boolean = process.versions.bun === undefined && process.versions.deno === undefined;

/** How many sockets have moved to lent reads in this process: for tests, which otherwise cannot see a move. */
export const lentReadsMoved = { count: 0 };

/** The part of `node:net`'s socket this module reads: its handle, which `onread` needs to be given at construction. */
interface HandleHolder {
  _handle?: object | null;
}

// Reads on a connection before it moves: an idle connection, or one that sends a request or two,
// stays as it is, since the move costs a second socket object until the next collection.
const READS_BEFORE_MOVING = 16;

/**
 * Sets an accepted socket to move to reads into a lent buffer once it has read a few times, if
 * the connection's protocol keeps no chunk; the socket's 'data' listener counts the reads and
 * calls `lendable()`, which calls {@link lendReads}.
 *
 * @param socket The core's socket around the accepted one, wired to `connection`.
 * @param connection The connection, its protocol started.
 */
export function lendReadsLater(socket: NodeSocket, connection: Connection): void {
  if (!connection.keepsData && !connection.disconnecting) socket.readsToLend = READS_BEFORE_MOVING;
}

/**
 * Moves the socket to reads into a lent buffer, from the next turn: not from within the read's
 * own callback, since the handle's listeners change as it moves.
 *
 * @param accepted The socket the server accepted.
 * @param socket The core's socket around it.
 */
export function lendReads(accepted: net.Socket, socket: NodeSocket): void {
  setImmediate(move, accepted, socket, socket.connection);
}

function move(accepted: net.Socket, socket: NodeSocket, connection: Connection): void {
  const handle = (accepted as unknown as HandleHolder)._handle;
  // Only a socket with nothing held either way: no unread chunk, no unsent write, not paused, not ended.
  const movable = handle !== null && handle !== undefined && !accepted.destroyed && accepted.writableLength === 0 &&
    accepted.readableLength === 0 && accepted.readableFlowing === true && !accepted.readableEnded &&
    !connection.disconnecting && !connection.keepsData && connection.reading;
  if (!movable) return;
  let buffer = new Uint8Array(SMALLEST);
  let last = 0;
  let sock: net.Socket | undefined;
  const onread = {
    // Asked for again after every read (and once before the first). A write the kernel did not take
    // at once keeps the chunk it was given, which is in the lent buffer: the next read then goes
    // into a new one.
    buffer: () => {
      const size = last === buffer.length ? Math.min(buffer.length * 2, LARGEST) : last <= SMALLEST / 2 ? SMALLEST : buffer.length;
      if (size !== buffer.length || (sock !== undefined && sock.writableLength > 0)) buffer = new Uint8Array(size);
      return buffer;
    },
    callback: (bytes: number, into: Uint8Array) => {
      // Unwired (startTLS() hands the socket to TLS): what the plaintext socket reads is no longer the connection's.
      if (!wiredTo(sock!, socket)) return true;
      last = bytes;
      const chunk = into.subarray(0, bytes);
      // A protocol can hand over to one that keeps its chunks (PROXY's receiver does): that one gets copies.
      if (connection.keepsData) connection.received(chunk.slice());
      else connection.received(chunk, true);
      countRead(bytes);
      return true;
    },
  };
  (accepted as unknown as HandleHolder)._handle = null;
  const options = { handle, allowHalfOpen: true, readable: true, writable: true, onread };
  sock = new net.Socket(options as unknown as net.SocketConstructorOpts);
  socket.moveTo(sock);
  // The handle has gone: this frees the old socket and the server's count of it, and closes nothing.
  accepted.destroy();
  lentReadsMoved.count++;
}
