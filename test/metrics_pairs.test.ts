/**
 * Exact counts after known traffic, on every runtime and adapter: the fixture server
 * (test/fixtures/metrics_server.ts) listens with the library and hands out its snapshots.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, test } from "vitest";
import type { PortMetrics } from "../src/mod.ts";
import type { UdpMetrics } from "../runner/metrics/endpoint_metrics.ts";
import { type Pair, PAIRS, withFileAccess } from "../tools/runtimes.ts";
import { type ServerProcess, startProcess, startServer } from "../tools/server_process.ts";
import { makeTestCertificates } from "../tools/test_certs.ts";
import { udpCommand } from "../tools/udp.ts";
import { collect, connect, echo } from "./helpers/client.ts";
import { bindClient } from "./helpers/udp_client.ts";
import { withServer } from "./helpers/with_server.ts";

const FIXTURE = "test/fixtures/metrics_server.ts";
const certs = makeTestCertificates();
const ca = readFileSync(certs.ca, "utf8");
const dir = mkdtempSync(`${tmpdir()}/twm-`);

afterAll(() => {
  rmSync(certs.dir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

interface Snapshot {
  metricsPort: number;
  endpoints: { endpoint: string; address: string; port?: PortMetrics; udp?: UdpMetrics }[];
}

/** The fixture's snapshot, from its control port. */
async function snapshot(server: ServerProcess): Promise<Snapshot> {
  const { received } = await collect(await connect(server.port), 10_000);
  return JSON.parse(received.toString()) as Snapshot;
}

const portOf = (s: Snapshot, i = 0) => Number(s.endpoints[i]!.address.split(":").at(-1));

const ZERO: PortMetrics = {
  connectionsAccepted: 0,
  connectionsRefused: 0,
  connectionsOpen: 0,
  bytesRead: 0,
  bytesWritten: 0,
  acceptFailuresPeerGone: 0,
  acceptFailuresResources: 0,
  acceptFailuresOther: 0,
  tlsHandshakesCompleted: 0,
  tlsHandshakesFailed: 0,
  proxyHeadersRejected: 0,
  connectionsClosedIdle: 0,
  connectionsClosedProtocolError: 0,
};

/** The stream endpoint's snapshot once its connections have all closed. */
async function settled(server: ServerProcess): Promise<PortMetrics> {
  await expect.poll(async () => (await snapshot(server)).endpoints[0]!.port!.connectionsOpen, { timeout: 10_000 }).toBe(0);
  return (await snapshot(server)).endpoints[0]!.port!;
}

function start(pair: Pair, ...args: string[]): Promise<ServerProcess> {
  return startServer(withFileAccess(pair), FIXTURE, args);
}

/** Sends `text` and resolves with what came back once the server closed or `count` bytes arrived. */
function exchange(sock: net.Socket, text: string, count: number): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    sock.on("data", (d: Buffer) => {
      got += d.toString();
      if (got.length >= count) resolve(got);
    });
    sock.write(text);
  });
}

describe.each(PAIRS)("metrics on $name", (pair) => {
  const deno = pair.runtime === "deno" && pair.adapter === "native";

  test("TCP: accepted, refused past the limit, open, bytes both ways and a protocol error, exactly", async () => {
    await withServer(start(pair, "--listen", "tcp:0:interface=127.0.0.1", "--max-connections", "2", "--throw-on", "boom"), async (server) => {
      const port = portOf(await snapshot(server));
      const a = await connect(port);
      const b = await connect(port);
      expect(await exchange(a, "x".repeat(1000), 1000)).toBe("x".repeat(1000));
      expect(await exchange(b, "hello", 5)).toBe("hello");
      // Both are open now, so the third is refused: FIN at once, no byte.
      const refused = await collect(await connect(port), 10_000);
      expect(refused.received.length).toBe(0);
      const bDone = collect(b, 10_000);
      b.on("error", () => {});
      b.write("boom");
      await bDone;
      const aDone = collect(a, 10_000);
      a.end();
      await aDone;
      expect(await settled(server)).toEqual({
        ...ZERO,
        connectionsAccepted: 3,
        connectionsRefused: 1,
        bytesRead: 1000 + 5 + 4,
        bytesWritten: 1000 + 5,
        connectionsClosedProtocolError: 1,
      });
    });
  });

  test("TCP: a silent connection closed by the idle timeout counts as closed idle", async () => {
    await withServer(start(pair, "--listen", "tcp:0:interface=127.0.0.1", "--idle-timeout", "300"), async (server) => {
      const sock = await connect(portOf(await snapshot(server)));
      sock.on("error", () => {});
      await collect(sock, 10_000);
      expect(await settled(server)).toEqual({ ...ZERO, connectionsAccepted: 1, connectionsClosedIdle: 1 });
    });
  });

  test("TCP with metrics off: no bytes counted, everything else still is", async () => {
    await withServer(start(pair, "--listen", "tcp:0:interface=127.0.0.1", "--metrics", "off"), async (server) => {
      const payload = randomBytes(10_000);
      expect((await echo(portOf(await snapshot(server)), payload)).received.equals(payload)).toBe(true);
      expect(await settled(server)).toEqual({ ...ZERO, connectionsAccepted: 1 });
    });
  });

  test("TLS: handshakes completed and failed, and the bytes after TLS", async () => {
    const ssl = `ssl:0:interface=127.0.0.1:privateKey=${certs.key}:certKey=${certs.cert}`;
    await withServer(start(pair, "--listen", ssl), async (server) => {
      const port = portOf(await snapshot(server));
      const payload = randomBytes(3000);
      expect((await echo({ tlsPort: port, ca }, payload)).received.equals(payload)).toBe(true);
      // A plaintext client on the TLS port: its handshake fails.
      const plain = await connect(port);
      plain.on("error", () => {});
      const done = collect(plain, 10_000);
      plain.write("GET / HTTP/1.0\r\n\r\n");
      await done;
      await expect.poll(async () => (await snapshot(server)).endpoints[0]!.port!.tlsHandshakesFailed, { timeout: 10_000 }).toBe(1);
      // Deno native hands a TLS connection to the port at accept, before its handshake; the others once it is done.
      expect(await settled(server)).toEqual({
        ...ZERO,
        connectionsAccepted: deno ? 2 : 1,
        bytesRead: 3000,
        bytesWritten: 3000,
        tlsHandshakesCompleted: 1,
        tlsHandshakesFailed: 1,
      });
    });
  });

  test("Unix: connections and bytes", async () => {
    const path = `${dir}/${pair.runtime}-${pair.adapter}.sock`;
    await withServer(start(pair, "--listen", `unix:${path}`), async (server) => {
      for (const size of [100, 2000]) {
        const payload = randomBytes(size);
        expect((await echo(path, payload)).received.equals(payload)).toBe(true);
      }
      expect(await settled(server)).toEqual({ ...ZERO, connectionsAccepted: 2, bytesRead: 2100, bytesWritten: 2100 });
    });
  });

  test("PROXY protocol: a connection without a header is rejected and counted, one with a header served", async () => {
    await withServer(start(pair, "--listen", "haproxy:tcp:0:interface=127.0.0.1"), async (server) => {
      const port = portOf(await snapshot(server));
      const bad = await connect(port);
      bad.on("error", () => {});
      const badDone = collect(bad, 10_000);
      bad.write("GET / HTTP/1.0\r\n\r\n");
      await badDone;
      const header = "PROXY TCP4 192.0.2.1 192.0.2.2 40000 80\r\n";
      const good = await connect(port);
      expect(await exchange(good, `${header}hi`, 2)).toBe("hi");
      const goodDone = collect(good, 10_000);
      good.end();
      await goodDone;
      expect(await settled(server)).toEqual({
        ...ZERO,
        connectionsAccepted: 2,
        proxyHeadersRejected: 1,
        bytesRead: 18 + header.length + 2,
        bytesWritten: 2,
      });
    });
  });

  test("UDP: datagrams received and answered, and those over the rate limit dropped", async () => {
    const server = startProcess(pair.name, [...udpCommand(pair), FIXTURE, "--adapter", pair.adapter, "--listen", "udp:0:interface=127.0.0.1", "--udp-rate", "1"]);
    await withServer(server, async (server) => {
      const port = portOf(await snapshot(server));
      const client = await bindClient();
      try {
        // A burst of one, refilled once a second: four sent at once get one answer.
        for (let i = 0; i < 4; i++) client.send(randomBytes(100), port, "127.0.0.1");
        await expect.poll(async () => (await snapshot(server)).endpoints[0]!.udp!.datagramsReceived, { timeout: 10_000 }).toBe(4);
        expect((await snapshot(server)).endpoints[0]!.udp).toEqual({
          datagramsReceived: 4,
          bytesReceived: 400,
          datagramsSent: 1,
          bytesSent: 100,
          sendDrops: 0,
          datagramsAnswered: 1,
          bytesAnswered: 100,
          droppedLowPort: 0,
          droppedRateLimit: 3,
          droppedOversized: 0,
        });
      } finally {
        client.close();
      }
    });
  });

  test("GET /metrics serves the same counts in the Prometheus text format", async () => {
    await withServer(start(pair, "--listen", "tcp:0:interface=127.0.0.1"), async (server) => {
      const s = await snapshot(server);
      const payload = randomBytes(777);
      expect((await echo(portOf(s), payload)).received.equals(payload)).toBe(true);
      await settled(server);
      const text = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
      const label = '{endpoint="tcp:0:interface=127.0.0.1"}';
      expect(text).toContain(`\ntwine_connections_accepted_total${label} 1\n`);
      expect(text).toContain(`\ntwine_read_bytes_total${label} 777\n`);
      expect(text).toContain(`\ntwine_written_bytes_total${label} 777\n`);
      expect(text).toContain(`\ntwine_connections_open${label} 0\n`);
    });
  });
});

const RESETS = 100;

/** Connects, sends 1 KiB, and closes with RST (SO_LINGER 0); resolves once the socket is closed. */
function connectSendReset(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.once("connect", () => sock.write(randomBytes(1024), () => sock.resetAndDestroy()));
    sock.once("error", reject);
    sock.once("close", () => resolve());
  });
}

describe.each(PAIRS)("metrics of peers gone before accept on $name", (pair) => {
  test(`${RESETS} connections reset while the server is stopped are each either a peer gone before accept or an accepted connection, and none is logged`, async () => {
    const server = await start(pair, "--listen", "tcp:0:interface=127.0.0.1");
    try {
      const port = portOf(await snapshot(server));
      process.kill(server.pid, "SIGSTOP");
      try {
        await Promise.all(Array.from({ length: RESETS }, () => connectSendReset(port)));
      } finally {
        process.kill(server.pid, "SIGCONT");
      }
      // The control port may answer before the stopped server has drained the echo port's queue: wait for the count.
      const taken = async () => {
        const p = (await snapshot(server)).endpoints[0]!.port!;
        return p.connectionsAccepted + p.acceptFailuresPeerGone;
      };
      await expect.poll(taken, { timeout: 10_000 }).toBe(RESETS);
      const m = await settled(server);
      expect(m.connectionsAccepted + m.acceptFailuresPeerGone).toBe(RESETS);
      // Deno reads the peer's address after accept(2), which fails for every one of them (os error 107).
      if (pair.runtime === "deno" && pair.adapter === "native") expect(m.acceptFailuresPeerGone).toBe(RESETS);
      expect(m.acceptFailuresResources + m.acceptFailuresOther).toBe(0);
    } finally {
      const { code, output } = await server.stop();
      expect(code, output).toBe(0);
      expect(output.split("\n").filter((l) => l !== "" && !/listening on/.test(l)), output).toEqual([]);
    }
  });
});
