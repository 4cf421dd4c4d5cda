import dgram from "node:dgram";
import { once } from "node:events";
import { describe, expect, test } from "vitest";
import type { AutoListeningDatagramPort, AutoListeningPort } from "../adapters/mod.ts";
import { listenTcpAndUdp } from "../runner/services/echo_udp.ts";
import { ListenError, udpAddress } from "../src/mod.ts";
import { PAIRS } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";
import { udpCommand } from "../tools/udp.ts";
import { echo } from "./helpers/client.ts";
import { run } from "./helpers/run.ts";
import { burst, echoMany } from "./helpers/udp_client.ts";

/** Fake binders: TCP hands out ports 5000, 5001, …; UDP finds the first `taken` of them in use. */
function binders(taken: number) {
  const log: string[] = [];
  let next = 5000;
  const tcp = (port: number) => {
    const bound = port === 0 ? next++ : port;
    log.push(`tcp ${bound}`);
    return Promise.resolve({
      address: { type: "TCP", host: "127.0.0.1", port: bound },
      close: () => (log.push(`close tcp ${bound}`), Promise.resolve()),
    } as unknown as AutoListeningPort);
  };
  const udp = (port: number) => {
    if (port < 5000 + taken) return Promise.reject(new ListenError(`Cannot listen on UDP 127.0.0.1:${port}: address already in use`, "EADDRINUSE"));
    log.push(`udp ${port}`);
    return Promise.resolve({ address: udpAddress("127.0.0.1", port) } as AutoListeningDatagramPort);
  };
  return { tcp, udp, log };
}

test("with port 0, a port whose UDP side is taken is given back and another tried", async () => {
  const { tcp, udp, log } = binders(2);
  const both = await listenTcpAndUdp(tcp, udp, 0);
  expect([both.tcp.address.port, both.udp.address.port]).toEqual([5002, 5002]);
  expect(log).toEqual(["tcp 5000", "close tcp 5000", "tcp 5001", "close tcp 5001", "tcp 5002", "udp 5002"]);
});

test("with a port asked for, UDP's being taken is an error and TCP is let go", async () => {
  const { tcp, udp, log } = binders(10_000);
  await expect(listenTcpAndUdp(tcp, udp, 7000)).rejects.toThrow("Cannot listen on UDP 127.0.0.1:7000: address already in use");
  expect(log).toEqual(["tcp 7000", "close tcp 7000"]);
});

test("with port 0, the search gives up after 20 ports", async () => {
  const { tcp, udp, log } = binders(10_000);
  await expect(listenTcpAndUdp(tcp, udp, 0)).rejects.toThrow(ListenError);
  expect(log.filter((l) => l.startsWith("tcp"))).toHaveLength(20);
});

describe.each(PAIRS)("echo CLI --listen udp: on $name", (pair) => {
  const start = (...args: string[]) =>
    startProcess(pair.name, [...udpCommand(pair), "bin/echo.ts", "--adapter", pair.adapter, "--grace", "0", ...args]);
  const udpAdapter = pair.adapter === "node" || pair.runtime === "node" ? "node:dgram" : pair.runtime;

  test("serves UDP echo alone on --listen udp:0, with the bound port on the start line and datagrams in its summary", async () => {
    const server = await start("--listen", "udp:0", "--udp-rate", "0");
    try {
      expect(server.output()).toMatch(
        new RegExp(`^Echo server listening on UDP 127\\.0\\.0\\.1:${server.port} \\(${pair.runtime} [^,]+, UDP adapter ${udpAdapter}\\)\\n`),
      );
      expect(await echoMany(server.port, 200, 8192)).toEqual({ sent: 200, echoed: 200, lost: 0, wrong: 0 });
    } finally {
      const { code, output } = await server.stop();
      expect(code).toBe(0);
      // Regression: it began "served 0 connections, echoed 0 bytes", of a server that has no connections.
      expect(output).toMatch(/^Stopped on SIGTERM: UDP: echoed 200 datagrams \(\d+ bytes\), ignored 0 from ports below 1024, 0 over the rate, 0 dropped$/m);
    }
  });

  test("serves udp: over IPv6 beside a TCP --listen, with --udp-rate limiting each source", async () => {
    const server = await start("--listen", "tcp:0", "--listen", "udp:0:interface=\\:\\:1", "--udp-rate", "5");
    let v6: dgram.Socket | undefined;
    try {
      const m = /^Echo server listening on 127\.0\.0\.1:(\d+) and UDP \[::1\]:(\d+) \(/.exec(server.output());
      expect(m).not.toBeNull();
      expect((await echo(Number(m![1]), new TextEncoder().encode("tcp"))).received.toString()).toBe("tcp");
      v6 = dgram.createSocket("udp6");
      v6.bind(0, "::1");
      await once(v6, "listening");
      const replies = await burst(v6, Number(m![2]), 50, 300, "::1");
      // A burst of 5, plus 5 a second refilled while the 50 were served (slow on a loaded machine): far below 50.
      expect(replies).toBeGreaterThanOrEqual(5);
      expect(replies).toBeLessThanOrEqual(15);
    } finally {
      v6?.close();
      const { code, output } = await server.stop();
      expect(code).toBe(0);
      expect(output).toMatch(/; UDP: echoed \d+ datagrams \(\d+ bytes\), ignored 0 from ports below 1024, \d+ over the rate/);
    }
  });
});

test("--listen udp: is refused with --workers in one line: UDP is served by one process", async () => {
  const r = await run([...PAIRS.at(-1)!.command, "bin/echo.ts", "--listen", "udp:0", "--workers", "2"]);
  expect([r.code, r.stderr]).toEqual([2, "twine-echo: Cannot combine --listen udp: with --workers: UDP is served by one process\n"]);
});

test("--udp beside only udp: endpoints is refused in one line: it has no TCP port to share", async () => {
  const r = await run([...PAIRS.at(-1)!.command, "bin/echo.ts", "--listen", "udp:0", "--udp"]);
  expect([r.code, r.stderr]).toEqual([2, "twine-echo: Cannot serve --udp without a tcp: or tcp6: endpoint whose port it shares\n"]);
});
