import type net from "node:net";
import { Duplex } from "node:stream";
import { expect, test } from "vitest";
import { NodeSocket, wire } from "../adapters/node/socket.ts";
import { Connection, EchoProtocol, tcpAddress } from "../src/mod.ts";

/**
 * A stream socket that finishes each write a turn of the event loop later, as Deno's node:net
 * does, with a 64 KiB high-water mark; it records pause() and resume().
 */
class LateSocket extends Duplex {
  calls: string[] = [];
  #resumed: (() => void) | undefined;

  constructor() {
    super({ writableHighWaterMark: 64 * 1024, allowHalfOpen: true });
  }

  override _write(_chunk: Buffer, _encoding: string, done: () => void): void {
    setImmediate(done);
  }

  override _read(): void {}

  override pause(): this {
    this.calls.push("pause");
    return this;
  }

  override resume(): this {
    this.calls.push("resume");
    this.#resumed?.();
    return this;
  }

  /** Settles at the next resume(), or rejects after `ms`. */
  resumed(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not resumed within ${ms} ms: ${this.calls.join(", ")}`)), ms);
      this.#resumed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

// Regression: on Deno's node:tls an echo of 4 MiB stopped for good at 160 KiB.
test("reading paused for a full buffer resumes once a write below the socket's high-water mark completes, though it earns no 'drain'", async () => {
  const sock = new LateSocket();
  const socket = new NodeSocket(sock as unknown as net.Socket);
  const connection = new Connection(socket, tcpAddress("127.0.0.1", 1), tcpAddress("127.0.0.1", 2));
  wire(sock as unknown as net.Socket, socket, connection);
  connection.connect(new EchoProtocol());
  // Listening for 'data' resumed the stream once already.
  sock.calls = [];
  // 100 KiB fills the socket past its 64 KiB mark; the next 48 KiB wait in the core's queue,
  // and 148 KiB in all is over the core's 128 KiB: reading pauses.
  sock.emit("data", new Uint8Array(100 * 1024));
  sock.emit("data", new Uint8Array(48 * 1024));
  expect(sock.calls).toEqual(["pause"]);
  // The drain hands the 48 KiB over; below 64 KiB, and over the core's 32 KiB low-water mark
  // until written, they are the write that must say when it is done.
  await sock.resumed(5_000);
  expect(sock.calls).toEqual(["pause", "resume"]);
  expect(connection.bufferSize).toBe(0);
});

test("abort resets a TCP socket but only destroys a Unix one, where a reset only makes an error (it made Deno 2.9.6 panic out of descriptors)", () => {
  const fake = () => {
    const calls: string[] = [];
    const sock = {
      destroyed: false,
      resetAndDestroy: () => calls.push("resetAndDestroy"),
      destroy: () => calls.push("destroy"),
    };
    return { calls, sock: sock as unknown as net.Socket };
  };
  const tcp = fake();
  new NodeSocket(tcp.sock).abort();
  expect(tcp.calls).toEqual(["resetAndDestroy"]);
  const unix = fake();
  new NodeSocket(unix.sock, false).abort();
  expect(unix.calls).toEqual(["destroy"]);
});
