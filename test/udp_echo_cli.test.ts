import { expect, test } from "vitest";
import type { AutoListeningDatagramPort, AutoListeningPort } from "../adapters/mod.ts";
import { listenTcpAndUdp } from "../bin/udp_echo.ts";
import { ListenError, udpAddress } from "../src/mod.ts";

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
