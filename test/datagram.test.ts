import { expect, test } from "vitest";
import {
  type DatagramAddress,
  DatagramPort,
  DatagramProtocol,
  type DatagramSocket,
  EchoDatagramProtocol,
  MAX_DATAGRAM_SIZE,
  TokenBuckets,
  udpAddress,
} from "../src/mod.ts";

class FakeSocket implements DatagramSocket {
  sent: { data: Uint8Array; host: string; port: number }[] = [];
  full = false;
  throws = false;
  closed = false;
  send(data: Uint8Array, host: string, port: number): boolean {
    if (this.throws) throw Object.assign(new Error("send EMSGSIZE"), { code: "EMSGSIZE" });
    if (this.full) return false;
    this.sent.push({ data, host, port });
    return true;
  }
  close(): void {
    this.closed = true;
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const HOST = udpAddress("127.0.0.1", 7);

test("token buckets allow a burst, refuse past it, and refill with the clock", () => {
  let now = 1000;
  const b = new TokenBuckets({ rate: 10, burst: 3, now: () => now });
  expect([b.take("a"), b.take("a"), b.take("a"), b.take("a")]).toEqual([true, true, true, false]);
  expect(b.take("b")).toBe(true); // each key has its own bucket
  now += 100; // one token at 10 per second
  expect([b.take("a"), b.take("a")]).toEqual([true, false]);
  now += 10_000; // refills to the burst, not beyond
  expect([b.take("a"), b.take("a"), b.take("a"), b.take("a")]).toEqual([true, true, true, false]);
});

test("token buckets keep at most maxKeys buckets, forgetting full ones first", () => {
  let now = 0;
  const b = new TokenBuckets({ rate: 1, burst: 1, maxKeys: 100, now: () => now });
  for (let i = 0; i < 10_000; i++) b.take(`10.0.${i >> 8}.${i & 255}`);
  expect(b.size).toBeLessThanOrEqual(100);
  b.take("busy");
  now += 5000;
  for (let i = 0; i < 200; i++) b.take(`192.0.2.${i}`);
  expect(b.size).toBeLessThanOrEqual(100);
  expect(() => new TokenBuckets({ rate: 0 })).toThrow(new RangeError("Cannot limit the rate with rate 0: must be a positive number"));
});

test("UDP echo answers the sender, ignores ports below 1024, oversized datagrams and sources over the rate", () => {
  let now = 0;
  const echo = new EchoDatagramProtocol({ rate: 2, maxDatagramSize: 100, now: () => now });
  const socket = new FakeSocket();
  new DatagramPort(socket, HOST, echo);
  const from = (port: number, host = "127.0.0.1"): DatagramAddress => udpAddress(host, port);
  echo.datagramReceived(bytes("one"), from(40000));
  echo.datagramReceived(bytes("loop"), from(19));
  echo.datagramReceived(bytes("loop"), from(1023));
  echo.datagramReceived(new Uint8Array(101), from(40000));
  echo.datagramReceived(bytes("two"), from(40001));
  echo.datagramReceived(bytes("three"), from(40002)); // third from 127.0.0.1 within the second: over the rate
  echo.datagramReceived(bytes("other"), from(40000, "127.0.0.2"));
  now = 600; // one token back
  echo.datagramReceived(bytes("four"), from(40000));
  expect(socket.sent.map((s) => `${new TextDecoder().decode(s.data)}@${s.host}:${s.port}`)).toEqual([
    "one@127.0.0.1:40000",
    "two@127.0.0.1:40001",
    "other@127.0.0.2:40000",
    "four@127.0.0.1:40000",
  ]);
  expect([echo.datagramsEchoed, echo.ignoredPorts, echo.oversized, echo.rateLimited]).toEqual([4, 2, 1, 1]);
});

test("UDP echo with rate 0 and minSourcePort 0 answers everything", () => {
  const echo = new EchoDatagramProtocol({ rate: 0, minSourcePort: 0 });
  const socket = new FakeSocket();
  new DatagramPort(socket, HOST, echo);
  for (let i = 0; i < 5000; i++) echo.datagramReceived(bytes("x"), udpAddress("127.0.0.1", 7));
  expect(socket.sent).toHaveLength(5000);
});

test("a datagram too big to send, a full socket or a throwing send is dropped and counted, never thrown", () => {
  const socket = new FakeSocket();
  const port = new DatagramPort(socket, HOST, new DatagramProtocol());
  port.write(new Uint8Array(MAX_DATAGRAM_SIZE + 1), HOST);
  socket.full = true;
  port.write("x", HOST);
  socket.full = false;
  socket.throws = true;
  expect(() => port.write("x", HOST)).not.toThrow();
  socket.throws = false;
  port.write(new Uint8Array(MAX_DATAGRAM_SIZE), HOST);
  expect(port.sendDrops).toBe(3);
  expect(socket.sent).toHaveLength(1);
});

test("a throwing datagramReceived is reported with the sender and the port goes on", async () => {
  const errors: string[] = [];
  const seen: string[] = [];
  let stopped = 0;
  class Picky extends DatagramProtocol {
    override datagramReceived(data: Uint8Array): void {
      const s = new TextDecoder().decode(data);
      if (s === "bad") throw new Error("bad datagram");
      seen.push(s);
    }
    override stopProtocol(): void {
      stopped++;
    }
  }
  const socket = new FakeSocket();
  const port = new DatagramPort(socket, HOST, new Picky(), { onError: (e, a) => errors.push(`${(e as Error).message} from ${a.port}`) });
  port.received(bytes("ok"), "127.0.0.1", 5000);
  port.received(bytes("bad"), "127.0.0.1", 5001);
  port.received(bytes("ok again"), "127.0.0.1", 5002);
  expect(seen).toEqual(["ok", "ok again"]);
  expect(errors).toEqual(["bad datagram from 5001"]);
  await Promise.all([port.close(), port.stopListening()]);
  port.received(bytes("late"), "127.0.0.1", 5003);
  expect(seen).toHaveLength(2);
  expect([socket.closed, stopped]).toEqual([true, 1]);
});
