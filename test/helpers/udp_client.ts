import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { once } from "node:events";

/** Binds a UDP socket on 127.0.0.1 (port 0 for any free one). */
export async function bindClient(port = 0): Promise<dgram.Socket> {
  const sock = dgram.createSocket("udp4");
  sock.bind(port, "127.0.0.1");
  await once(sock, "listening");
  return sock;
}

/** What {@link echoMany} saw. */
export interface EchoTally {
  sent: number;
  echoed: number;
  lost: number;
  /** Replies whose bytes differ from what was sent, or that reached the wrong socket or came from elsewhere. */
  wrong: number;
}

/**
 * Sends `count` datagrams of random sizes (5 to `maxSize` bytes) from two sockets in
 * turn, `window` at a time, and checks that each comes back exactly, to the socket that
 * sent it, from the server's port. A datagram not back within `timeoutMs` counts as lost.
 */
export async function echoMany(port: number, count: number, maxSize: number, window = 16, timeoutMs = 2000): Promise<EchoTally> {
  const socks = [await bindClient(), await bindClient()];
  const pending = new Map<number, { data: Buffer; sock: number }>();
  const tally: EchoTally = { sent: 0, echoed: 0, lost: 0, wrong: 0 };
  let wake: (() => void) | undefined;
  socks.forEach((sock, index) =>
    sock.on("message", (msg, rinfo) => {
      const seq = msg.length >= 5 ? msg.readUInt32BE(0) : -1;
      const expected = pending.get(seq);
      if (expected === undefined || expected.sock !== index || rinfo.port !== port || !expected.data.equals(msg)) {
        tally.wrong++;
      } else {
        pending.delete(seq);
        tally.echoed++;
      }
      if (pending.size === 0) wake?.();
    })
  );
  try {
    for (let next = 0; next < count; ) {
      const batch = Math.min(window, count - next);
      for (let i = 0; i < batch; i++, next++) {
        const size = 5 + Math.floor(Math.random() * (maxSize - 4));
        const data = randomBytes(size);
        data.writeUInt32BE(next, 0);
        data[4] = next % 2;
        pending.set(next, { data, sock: next % 2 });
        socks[next % 2]!.send(data, port, "127.0.0.1");
        tally.sent++;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      tally.lost += pending.size;
      pending.clear();
    }
  } finally {
    for (const s of socks) s.close();
  }
  return tally;
}

/** Sends `n` datagrams at once from `sock` to `host` and counts replies until none has come for `quietMs`. */
export async function burst(sock: dgram.Socket, port: number, n: number, quietMs = 300, host = "127.0.0.1"): Promise<number> {
  let replies = 0;
  let last = Date.now();
  const onMessage = () => {
    replies++;
    last = Date.now();
  };
  sock.on("message", onMessage);
  for (let i = 0; i < n; i++) sock.send(`burst ${i}`, port, host);
  last = Date.now();
  while (Date.now() - last < quietMs) await new Promise((r) => setTimeout(r, 20));
  sock.off("message", onMessage);
  return replies;
}

/** Sends `data` from `sock` and resolves with the reply, or undefined after `timeoutMs`. */
export function roundTrip(sock: dgram.Socket, port: number, data: Uint8Array | string, timeoutMs = 3000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sock.off("message", onMessage);
      resolve(undefined);
    }, timeoutMs);
    const onMessage = (msg: Buffer) => {
      clearTimeout(timer);
      sock.off("message", onMessage);
      resolve(msg);
    };
    sock.on("message", onMessage);
    sock.send(data, port, "127.0.0.1");
  });
}
