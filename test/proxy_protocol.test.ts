import { afterEach, expect, test, vi } from "vitest";
import {
  type Address,
  type Connection,
  EchoFactory,
  Factory,
  LineReceiver,
  MemoryTransport,
  Protocol,
  ProxyProtocolReceiver,
  RateLimitedLog,
  type StartTlsOptions,
} from "../src/mod.ts";

const enc = (s: string) => new TextEncoder().encode(s);

class Recorder extends Protocol {
  peer: Address | undefined;
  host: Address | undefined;
  data = "";
  lost = 0;
  override connectionMade(): void {
    this.peer = this.transport.getPeer();
    this.host = this.transport.getHost();
  }
  override dataReceived(data: Uint8Array): void {
    this.data += new TextDecoder().decode(data);
    this.transport.write(data);
  }
  override connectionLost(): void {
    this.lost++;
  }
}

function setup(timeout?: number) {
  const lines: string[] = [];
  const built: { addr: Address; protocol: Recorder }[] = [];
  const factory = new (class extends Factory<Recorder> {
    override buildProtocol(addr: Address): Recorder {
      const protocol = new Recorder();
      built.push({ addr, protocol });
      return protocol;
    }
  })();
  const log = new RateLimitedLog((line) => lines.push(line));
  const t = new MemoryTransport();
  t.connect(new ProxyProtocolReceiver(factory, log, timeout));
  return { t, lines, built, log, factory };
}

afterEach(() => {
  vi.useRealTimers();
});

test("the protocol is built only after the header, with the original client and destination as addresses", () => {
  const { t, built } = setup();
  const header = "PROXY TCP4 198.51.100.7 203.0.113.9 40000 443\r\n";
  for (const ch of header) {
    expect(built).toHaveLength(0);
    t.receive(ch);
  }
  t.receive("hello");
  expect(built).toHaveLength(1);
  const { addr, protocol } = built[0]!;
  expect(addr).toEqual({ type: "TCP", host: "198.51.100.7", port: 40000 });
  expect(protocol.peer).toEqual(addr);
  expect(protocol.host).toEqual({ type: "TCP", host: "203.0.113.9", port: 443 });
  expect(protocol.data).toBe("hello");
  expect(t.text()).toBe("hello");
});

test("a LOCAL header (a health check) keeps the real connection's addresses", () => {
  const { t, built } = setup();
  t.receive(Uint8Array.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x20, 0x00, 0, 0]));
  expect(built).toHaveLength(1);
  expect(built[0]!.protocol.peer).toEqual(t.getPeer());
  expect(built[0]!.protocol.host).toEqual(t.getHost());
});

test("a LOCAL header with a family byte twine does not know still keeps the real addresses, in every split", () => {
  const header = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x20, 0xf1, 0, 4, 1, 2, 3, 4];
  const stream = Uint8Array.from([...header, ...enc("ping")]);
  for (let size = 1; size <= stream.length; size++) {
    const { t, built, lines } = setup();
    for (let i = 0; i < stream.length; i += size) t.receive(stream.slice(i, i + size));
    expect(lines).toEqual([]);
    expect(built).toHaveLength(1);
    expect(built[0]!.protocol.peer).toEqual(t.getPeer());
    expect(built[0]!.protocol.host).toEqual(t.getHost());
    expect(built[0]!.protocol.data).toBe("ping");
  }
});

test("a malformed header aborts the connection, logs one line and never builds the protocol", () => {
  const { t, lines, built } = setup();
  t.receive("GET / HTTP/1.0\r\n\r\n");
  expect(t.aborted).toBe(true);
  expect(built).toHaveLength(0);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^Closed a connection from 192\.0\.2\.1:54321: no PROXY protocol header$/);
});

test("a header cut short by the peer's FIN closes the connection", () => {
  const { t, lines, built } = setup();
  t.receive("PROXY TCP4 1.2.3.4");
  t.receiveEnd();
  expect(t.aborted).toBe(true);
  expect(built).toHaveLength(0);
  expect(lines[0]).toMatch(/closed before a complete PROXY protocol header/);
});

test("a header that does not arrive in time closes the connection", () => {
  vi.useFakeTimers();
  const { t, lines, built } = setup(3000);
  t.receive("PROXY TCP4 1.2.3.4 ");
  vi.advanceTimersByTime(2999);
  expect(t.aborted).toBe(false);
  vi.advanceTimersByTime(1);
  expect(t.aborted).toBe(true);
  expect(built).toHaveLength(0);
  expect(lines[0]).toMatch(/no complete PROXY protocol header within 3 s/);
});

test("a complete header stops the timer", () => {
  vi.useFakeTimers();
  const { t } = setup(3000);
  t.receive("PROXY UNKNOWN\r\n");
  vi.advanceTimersByTime(10_000);
  expect(t.aborted).toBe(false);
});

test("bad connections are logged at most once a second, counting the rest", () => {
  vi.useFakeTimers();
  const lines: string[] = [];
  const log = new RateLimitedLog((line) => lines.push(line));
  for (let i = 0; i < 50; i++) {
    const t = new MemoryTransport();
    t.connect(new ProxyProtocolReceiver(new EchoFactory(), log));
    t.receive("junk");
    expect(t.aborted).toBe(true);
  }
  expect(lines).toHaveLength(1);
  vi.advanceTimersByTime(1000);
  const t = new MemoryTransport();
  t.connect(new ProxyProtocolReceiver(new EchoFactory(), log));
  t.receive("junk");
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatch(/\(and 48 more in the last second\)$/);
});

test("connectionLost reaches the wrapped protocol once", () => {
  const { t, built } = setup();
  t.receive("PROXY UNKNOWN\r\n");
  t.receiveEnd();
  t.drain();
  expect(built[0]!.protocol.lost).toBe(1);
});

test("the echo protocol behind a PROXY header echoes everything after it, whatever the split", () => {
  for (const size of [1, 2, 7, 100]) {
    const t = new MemoryTransport();
    t.connect(new ProxyProtocolReceiver(new EchoFactory(), new RateLimitedLog(() => {})));
    const input = enc(`PROXY TCP6 ::1 ::1 5000 6000\r\n${"payload-".repeat(50)}`);
    for (let i = 0; i < input.length; i += size) t.receive(input.subarray(i, i + size));
    expect(t.text()).toBe("payload-".repeat(50));
  }
});

// Regression: the transport behind a PROXY header had no startTLS, so a STARTTLS protocol behind haproxy: failed.
class Starttls extends LineReceiver {
  upgraded: Promise<void> | undefined;
  override lineReceived(line: Uint8Array): void {
    if (new TextDecoder().decode(line) !== "STARTTLS") return;
    this.sendLine("220 Ready");
    this.setRawMode();
    this.upgraded = (this.transport as Connection).startTLS(SERVER).then(() => this.transport.write("secret"));
  }
}
const SERVER: StartTlsOptions = { side: "server", certKey: "cert.pem", privateKey: "key.pem" };

test.each([1, 5, 200])("a STARTTLS protocol behind a PROXY header upgrades the connection underneath, fed %i bytes at a time", async (size) => {
  const t = new MemoryTransport();
  let protocol: Starttls | undefined;
  const factory = new (class extends Factory<Starttls> {
    override buildProtocol(): Starttls {
      return (protocol = new Starttls());
    }
  })();
  t.connect(new ProxyProtocolReceiver(factory, new RateLimitedLog(() => {})));
  const input = enc("PROXY TCP4 198.51.100.7 203.0.113.9 40000 25\r\nSTARTTLS\r\n");
  for (let i = 0; i < input.length; i += size) t.receive(input.subarray(i, i + size));
  expect(t.tlsStarted).toBe(SERVER);
  await protocol!.upgraded;
  expect(t.text()).toBe("220 Ready\r\nsecret");
  expect(t.plaintextLength).toBe("220 Ready\r\n".length);
  expect((protocol!.transport as Connection).getTlsInfo()).toBeUndefined();
  expect(protocol!.transport.getPeer()).toEqual({ type: "TCP", host: "198.51.100.7", port: 40000 });
});
