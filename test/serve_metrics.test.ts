/**
 * twine-serve --metrics on every pair: exact counts after known traffic over tcp:, ssl:, unix:
 * and udp:, the sum over two workers through a drained and a killed worker, and /healthz
 * through a drain.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, test } from "vitest";
import { BINARIES, type Pair, PAIRS, withFileAccess } from "../tools/runtimes.ts";
import { type ServerProcess, startProcess } from "../tools/server_process.ts";
import { makeTestCertificates } from "../tools/test_certs.ts";
import { udpCommand } from "../tools/udp.ts";
import { echo } from "./helpers/client.ts";
import { finish, healthz, scrape, serveOrRefuse } from "./helpers/metrics.ts";
import { waitForOutput } from "./helpers/run.ts";
import { bindClient } from "./helpers/udp_client.ts";

const certs = makeTestCertificates();
const ca = readFileSync(certs.ca, "utf8");
const dir = mkdtempSync(`${tmpdir()}/twsm-`);

afterAll(() => {
  rmSync(certs.dir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

const LOCAL = "tcp:0:interface=127.0.0.1";

/** Every sample a stream endpoint has, all zero but those given. */
function streamSamples(endpoint: string, values: Record<string, number>): Map<string, number> {
  const names = [
    "twine_connections_accepted_total",
    "twine_connections_refused_total",
    "twine_connections_open",
    "twine_read_bytes_total",
    "twine_written_bytes_total",
    "twine_accept_failures_total|kind=peer_gone",
    "twine_accept_failures_total|kind=resources",
    "twine_accept_failures_total|kind=other",
    "twine_tls_handshakes_total|result=completed",
    "twine_tls_handshakes_total|result=failed",
    "twine_proxy_headers_rejected_total",
    "twine_connections_closed_total|reason=idle_timeout",
    "twine_connections_closed_total|reason=protocol_error",
  ];
  return samplesOf(endpoint, names, values);
}

/** Every sample a UDP echo endpoint has, all zero but those given. */
function udpSamples(endpoint: string, values: Record<string, number>): Map<string, number> {
  const names = [
    "twine_udp_datagrams_received_total",
    "twine_udp_received_bytes_total",
    "twine_udp_datagrams_sent_total",
    "twine_udp_sent_bytes_total",
    "twine_udp_datagrams_answered_total",
    "twine_udp_datagrams_dropped_total|reason=low_port",
    "twine_udp_datagrams_dropped_total|reason=rate_limit",
    "twine_udp_datagrams_dropped_total|reason=oversized",
    "twine_udp_datagrams_dropped_total|reason=send_failed",
  ];
  return samplesOf(endpoint, names, values);
}

function samplesOf(endpoint: string, names: string[], values: Record<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of names) {
    const [metric, label] = name.split("|");
    const key = `${metric}{endpoint="${endpoint}"${label === undefined ? "" : `,${label.replace("=", '="')}"`}}`;
    out.set(key, values[name] ?? 0);
  }
  return out;
}

/** The samples of one endpoint. */
function only(samples: Map<string, number>, endpoint: string): Map<string, number> {
  return new Map([...samples].filter(([key]) => key.includes(`{endpoint="${endpoint}"`)));
}

/** The metrics port, from the line after the start line. */
async function metricsPortOf(server: ServerProcess): Promise<number> {
  const line = /Serving metrics on 127\.0\.0\.1:(\d+)/;
  await waitForOutput(() => server.output(), line);
  return Number(line.exec(server.output())![1]);
}

/** Scrapes until the open-connections gauge of `endpoint` reads `open`, and returns that scrape. */
async function settled(metricsPort: number, endpoint: string, open = 0): Promise<Map<string, number>> {
  await expect.poll(async () => (await scrape(metricsPort)).get(`twine_connections_open{endpoint="${endpoint}"}`), { timeout: 10_000 }).toBe(open);
  return await scrape(metricsPort);
}

/** The pair's command with what a supervisor needs on top: Deno asks for child processes and the environment. */
function supervisorCommand(pair: Pair, args: string[]): string[] {
  const runtime = pair.runtime === "deno" ? [BINARIES.deno, "run", "--allow-net", "--allow-run", "--allow-env", "--no-prompt"] : pair.command;
  return [...runtime, "bin/serve.ts", "echo", "--port", "0", "--adapter", pair.adapter, ...args];
}

function workerPid(output: string, slot: number): number {
  return Number([...output.matchAll(new RegExp(`Worker ${slot} started \\(pid (\\d+)\\)`, "g"))].at(-1)![1]);
}

describe.each(PAIRS)("twine-serve --metrics on $name", (pair) => {
  test("GET /metrics has exact counts after known traffic over tcp:, ssl:, unix: and udp: in one process", async () => {
    const path = `${dir}/${pair.runtime}-${pair.adapter}.sock`;
    const ssl = `ssl:0:interface=127.0.0.1:privateKey=${certs.key}:certKey=${certs.cert}`;
    const command = [
      ...udpCommand(withFileAccess(pair)),
      "bin/serve.ts",
      "echo",
      "--adapter",
      pair.adapter,
      ...["--listen", LOCAL, "--listen", ssl, "--listen", `unix:${path}`, "--listen", "udp:0:interface=127.0.0.1"],
      ...["--udp-rate", "1", "--max-connections", "2", "--metrics", LOCAL],
    ];
    const server = await startProcess(pair.name, command);
    try {
      const metricsPort = await metricsPortOf(server);
      const sslPort = Number(/ssl:127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
      const udpPort = Number(/UDP 127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
      const [tcp, tls, unix, udp] = [`tcp:127.0.0.1:${server.port}`, `ssl:127.0.0.1:${sslPort}`, `unix:${path}`, `udp:127.0.0.1:${udpPort}`];

      // TCP, at most 2 at once: two held, a third refused, then one more once they are gone.
      const a = await serveOrRefuse(server.port, "hello");
      const b = await serveOrRefuse(server.port, "hello");
      expect([a.served, b.served]).toEqual([true, true]);
      expect((await serveOrRefuse(server.port, "abc")).served).toBe(false);
      if (a.served) await finish(a.sock);
      if (b.served) await finish(b.sock);
      await settled(metricsPort, tcp);
      const kilobyte = randomBytes(1000);
      expect((await echo(server.port, kilobyte)).received.equals(kilobyte)).toBe(true);
      // TLS and Unix.
      const tlsPayload = randomBytes(3000);
      expect((await echo({ tlsPort: sslPort, ca }, tlsPayload)).received.equals(tlsPayload)).toBe(true);
      for (const size of [100, 2000]) {
        const payload = randomBytes(size);
        expect((await echo(path, payload)).received.equals(payload)).toBe(true);
      }
      // UDP at one datagram a second per source: four sent at once get one answer.
      const client = await bindClient();
      try {
        for (let i = 0; i < 4; i++) client.send(randomBytes(100), udpPort, "127.0.0.1");
        await expect.poll(async () => (await scrape(metricsPort)).get(`twine_udp_datagrams_received_total{endpoint="${udp}"}`), { timeout: 10_000 }).toBe(4);
      } finally {
        client.close();
      }
      await settled(metricsPort, unix);
      await settled(metricsPort, tls);
      const samples = await settled(metricsPort, tcp);
      expect(only(samples, tcp)).toEqual(streamSamples(tcp, {
        twine_connections_accepted_total: 4,
        twine_connections_refused_total: 1,
        // What the refused connection sent is discarded unread.
        twine_read_bytes_total: 5 + 5 + 1000,
        twine_written_bytes_total: 5 + 5 + 1000,
      }));
      expect(only(samples, tls)).toEqual(streamSamples(tls, {
        twine_connections_accepted_total: 1,
        twine_read_bytes_total: 3000,
        twine_written_bytes_total: 3000,
        "twine_tls_handshakes_total|result=completed": 1,
      }));
      expect(only(samples, unix)).toEqual(streamSamples(unix, {
        twine_connections_accepted_total: 2,
        twine_read_bytes_total: 2100,
        twine_written_bytes_total: 2100,
      }));
      expect(only(samples, udp)).toEqual(udpSamples(udp, {
        twine_udp_datagrams_received_total: 4,
        twine_udp_received_bytes_total: 400,
        twine_udp_datagrams_sent_total: 1,
        twine_udp_sent_bytes_total: 100,
        twine_udp_datagrams_answered_total: 1,
        "twine_udp_datagrams_dropped_total|reason=rate_limit": 3,
      }));
      // Nothing else: four endpoints, and the metrics endpoint counts itself nowhere.
      expect(samples.size).toBe(13 * 3 + 9);
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });

  test("with --workers 2 the counts are summed over both, and none goes down when a worker drains and is replaced or is killed", async () => {
    const server = await startProcess(pair.name, supervisorCommand(pair, ["--workers", "2", "--grace", "2", "--metrics", LOCAL]));
    try {
      const metricsPort = await metricsPortOf(server);
      const tcp = `tcp:127.0.0.1:${server.port}`;
      const kilobyte = randomBytes(1000);
      const round = async (n: number) => {
        for (let i = 0; i < n; i += 5) {
          const results = await Promise.all(Array.from({ length: 5 }, () => echo(server.port, kilobyte)));
          for (const r of results) expect(r.received.equals(kilobyte)).toBe(true);
        }
      };
      const accepted = (s: Map<string, number>) => s.get(`twine_connections_accepted_total{endpoint="${tcp}"}`);
      await round(20);
      expect(accepted(await settled(metricsPort, tcp))).toBe(20);

      // Ten more that no scrape has seen, then worker 1 drains on its own SIGTERM: its final report counts them.
      await round(10);
      const first = workerPid(server.output(), 1);
      process.kill(first, "SIGTERM");
      await expect.poll(() => server.output(), { timeout: 15_000 }).toMatch(new RegExp(`Worker 1 \\(pid ${first}\\) exited \\(status 0\\); restarting`));
      await expect.poll(() => workerPid(server.output(), 1), { timeout: 15_000 }).not.toBe(first);
      const afterDrain = await settled(metricsPort, tcp);
      expect(accepted(afterDrain)).toBe(30);
      expect(afterDrain.get(`twine_read_bytes_total{endpoint="${tcp}"}`)).toBe(30_000);

      // Ten more, scraped; then worker 2 is killed: what it last said still counts.
      await round(10);
      expect(accepted(await settled(metricsPort, tcp))).toBe(40);
      const second = workerPid(server.output(), 2);
      process.kill(second, "SIGKILL");
      await expect.poll(() => server.output(), { timeout: 15_000 }).toMatch(new RegExp(`Worker 2 \\(pid ${second}\\) exited \\(SIGKILL\\); restarting`));
      await expect.poll(() => workerPid(server.output(), 2), { timeout: 15_000 }).not.toBe(second);
      const afterKill = await settled(metricsPort, tcp);
      expect(only(afterKill, tcp)).toEqual(streamSamples(tcp, {
        twine_connections_accepted_total: 40,
        twine_read_bytes_total: 40_000,
        twine_written_bytes_total: 40_000,
      }));
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });

  test.each([
    ["in one process", [] as string[]],
    ["with --workers 2", ["--workers", "2"]],
  ])("/healthz answers 200 while it accepts and 503 from SIGTERM until the drain is over, %s", async (_how, workers) => {
    const server = await startProcess(pair.name, supervisorCommand(pair, [...workers, "--grace", "30", "--metrics", LOCAL]));
    let exited = false;
    server.child.once("close", () => (exited = true));
    try {
      const metricsPort = await metricsPortOf(server);
      expect(await healthz(metricsPort)).toBe(200);
      const held = await serveOrRefuse(server.port, "hold");
      expect(held.served).toBe(true);
      server.child.kill("SIGTERM");
      await expect.poll(() => healthz(metricsPort), { timeout: 10_000 }).toBe(503);
      // The held connection keeps it draining: still up, and still counting.
      expect(exited).toBe(false);
      expect((await scrape(metricsPort)).get(`twine_connections_open{endpoint="tcp:127.0.0.1:${server.port}"}`)).toBe(1);
      if (held.served) await finish(held.sock);
      await expect.poll(() => server.child.exitCode, { timeout: 15_000 }).toBe(0);
      await expect(healthz(metricsPort)).rejects.toThrow();
    } finally {
      await server.stop("SIGKILL");
    }
  });
});
