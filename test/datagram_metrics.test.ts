import { expect, test } from "vitest";
import { DatagramPort, DatagramProtocol, type DatagramSocket, EchoDatagramProtocol, type LogEvent, udpAddress } from "../src/mod.ts";

class FakeSocket implements DatagramSocket {
  full = false;
  throws = false;
  send(): boolean {
    if (this.throws) throw new Error("send EMSGSIZE");
    return !this.full;
  }
  close(): void {}
}

const bytes = (n: number) => new Uint8Array(n);
const HOST = udpAddress("127.0.0.1", 7);

test("a datagram port counts what it received, sent and dropped, and the echo what it answered and why it did not", () => {
  let now = 0;
  const socket = new FakeSocket();
  const echo = new EchoDatagramProtocol({ rate: 2, burst: 2, maxDatagramSize: 100, now: () => now });
  const port = new DatagramPort(socket, HOST, echo);
  port.received(bytes(10), "127.0.0.1", 40000); // answered
  port.received(bytes(20), "127.0.0.1", 40000); // answered
  port.received(bytes(30), "127.0.0.1", 40000); // over the rate
  port.received(bytes(5), "127.0.0.1", 53); // low source port
  port.received(bytes(101), "127.0.0.2", 40000); // oversized
  socket.full = true;
  port.received(bytes(7), "127.0.0.3", 40000); // answered, but the socket drops it
  socket.full = false;
  socket.throws = true;
  port.received(bytes(8), "127.0.0.4", 40000); // answered, but sending throws
  now += 10_000;
  socket.throws = false;
  port.received(bytes(9), "127.0.0.1", 40000); // answered again after a quiet spell
  expect(port.metrics()).toEqual({
    datagramsReceived: 8,
    bytesReceived: 10 + 20 + 30 + 5 + 101 + 7 + 8 + 9,
    datagramsSent: 3,
    bytesSent: 10 + 20 + 9,
    sendDrops: 2,
  });
  expect(echo.metrics()).toEqual({
    datagramsAnswered: 5,
    bytesAnswered: 10 + 20 + 7 + 8 + 9,
    droppedLowPort: 1,
    droppedRateLimit: 1,
    droppedOversized: 1,
  });
  expect(Object.isFrozen(port.metrics())).toBe(true);
  expect(Object.isFrozen(echo.metrics())).toBe(true);
});

test("a throwing datagram protocol is reported through the log option with a datagram_protocol_error event", () => {
  const logged: [string, LogEvent | undefined][] = [];
  class Throws extends DatagramProtocol {
    override datagramReceived(): void {
      throw new Error("boom");
    }
  }
  const port = new DatagramPort(new FakeSocket(), HOST, new Throws(), { log: (l, e) => logged.push([l, e]) });
  port.received(bytes(1), "127.0.0.1", 40000);
  expect(logged).toEqual([
    [
      "Protocol error on datagram from 127.0.0.1:40000: Error: boom",
      { event: "datagram_protocol_error", level: "error", endpoint: "udp:127.0.0.1:7", peer: "127.0.0.1:40000", fields: { error: "Error: boom" } },
    ],
  ]);
});
