import { randomBytes } from "node:crypto";
import net from "node:net";
import tls from "node:tls";

/**
 * A repeating random pattern whose length is prime-ish, so a lost, repeated or
 * reordered chunk shows up as a mismatch at a known offset. Lets a test check
 * hundreds of MiB without holding them.
 */
export class Pattern {
  readonly bytes: Uint8Array;

  constructor(size = 1_000_003) {
    this.bytes = new Uint8Array(randomBytes(size));
  }

  /** The `length` bytes of the stream starting at `offset`. */
  slice(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const at = (offset + filled) % this.bytes.length;
      const n = Math.min(length - filled, this.bytes.length - at);
      out.set(this.bytes.subarray(at, at + n), filled);
      filled += n;
    }
    return out;
  }

  /** Index of the first byte of `chunk` that differs from the stream at `offset`, or -1. */
  mismatch(offset: number, chunk: Uint8Array): number {
    const src = this.bytes;
    let at = offset % src.length;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== src[at]) return offset + i;
      if (++at === src.length) at = 0;
    }
    return -1;
  }
}

/** Where a test client connects: a loopback port, a Unix socket's path, or a TLS port and the CA to trust. */
export type Target = number | string | { readonly tlsPort: number; readonly ca: string };

/** Connects to `host`:`port` (loopback only), to the Unix socket at a path, or over TLS, with Nagle off and half-open allowed. */
export function connect(port: Target, host: "127.0.0.1" | "::1" = "127.0.0.1"): Promise<net.Socket> {
  if (typeof port === "object") {
    return new Promise((resolve, reject) => {
      const sock = tls.connect({ host, port: port.tlsPort, ca: port.ca, allowHalfOpen: true, noDelay: true } as tls.ConnectionOptions);
      sock.once("secureConnect", () => {
        sock.off("error", reject);
        resolve(sock);
      });
      sock.once("error", reject);
    });
  }
  return new Promise((resolve, reject) => {
    const sock = typeof port === "string"
      ? net.connect({ path: port, allowHalfOpen: true })
      : net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    sock.once("connect", () => {
      sock.off("error", reject);
      resolve(sock);
    });
    sock.once("error", reject);
  });
}

/** What a client saw of a connection. */
export interface Exchange {
  received: Buffer;
  /** Whether the server ended its side (FIN) cleanly. */
  ended: boolean;
  error: Error | undefined;
}

/** Collects everything until the socket closes; resolves on close or after `ms`. */
export function collect(sock: net.Socket, ms = 30_000): Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ended = false;
    let error: Error | undefined;
    const timer = setTimeout(() => {
      error ??= new Error(`socket still open after ${ms} ms`);
      sock.destroy();
    }, ms);
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("end", () => {
      ended = true;
      // The server has finished; finish our side too so the socket closes.
      sock.end();
    });
    sock.on("error", (e) => (error ??= e));
    sock.on("close", () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), ended, error });
    });
  });
}

/** Writes `chunks` honouring backpressure, then half-closes. */
export async function writeAll(sock: net.Socket, chunks: Iterable<Uint8Array>, end = true): Promise<void> {
  for (const chunk of chunks) {
    if (!sock.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          sock.off("close", onClose);
          resolve();
        };
        const onClose = () => {
          sock.off("drain", onDrain);
          reject(new Error("socket closed while writing"));
        };
        sock.once("drain", onDrain);
        sock.once("close", onClose);
      });
    }
  }
  if (end) sock.end();
}

/** Splits `data` into chunks of the given sizes, cycling through them. */
export function* chunked(data: Uint8Array, sizes: readonly number[]): Generator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield data.subarray(offset, offset + n);
    offset += n;
  }
}

/** Sends `payload` in `sizes`-sized chunks, half-closes, and returns what came back. */
export async function echo(port: Target, payload: Uint8Array, sizes: readonly number[] = [payload.length || 1]) {
  const sock = await connect(port);
  const result = collect(sock);
  await writeAll(sock, chunked(payload, sizes));
  return result;
}
