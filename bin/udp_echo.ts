/**
 * `--udp` for the echo CLI: UDP echo on the same port as TCP.
 *
 * @module
 */
import type { AutoListeningDatagramPort, AutoListeningPort } from "../adapters/mod.ts";
import { type EchoDatagramProtocol, ListenError } from "../src/mod.ts";

/** How many times to look for a port free for both TCP and UDP when asked for port 0. */
const ATTEMPTS = 20;

/**
 * Binds UDP echo on the TCP server's port. With port 0, a port free for TCP may be
 * taken for UDP; then TCP is bound again elsewhere, up to {@link ATTEMPTS} times.
 *
 * @param listenTcp Binds TCP on the given port.
 * @param listenUdp Binds UDP on the given port.
 * @param requested The port asked for (0 for any).
 * @returns Both ports.
 * @throws {ListenError} If UDP cannot be bound.
 */
export async function listenTcpAndUdp(
  listenTcp: (port: number) => Promise<AutoListeningPort>,
  listenUdp: (port: number) => Promise<AutoListeningDatagramPort>,
  requested: number,
): Promise<{ tcp: AutoListeningPort; udp: AutoListeningDatagramPort }> {
  for (let attempt = 1; ; attempt++) {
    const tcp = await listenTcp(requested);
    try {
      const udp = await listenUdp(tcp.address.port);
      return { tcp, udp };
    } catch (error) {
      await tcp.close();
      const retry = requested === 0 && error instanceof ListenError && error.code === "EADDRINUSE" && attempt < ATTEMPTS;
      if (!retry) throw error;
    }
  }
}

/**
 * Parses `--udp-rate`.
 *
 * @param text The flag's value.
 * @returns Datagrams per second per source address; 0 for no limit, NaN if invalid.
 */
export function parseRate(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : NaN;
}

/**
 * The UDP part of the shutdown line, summed over every UDP socket served.
 *
 * @param served Each socket's echo protocol and bound port.
 * @returns e.g. `; UDP: echoed 3 datagrams (9 bytes), ignored 1 from ports below 1024, 0 over the rate, 0 dropped`.
 */
export function udpSummary(served: readonly { echo: EchoDatagramProtocol; port: AutoListeningDatagramPort }[]): string {
  const sum = (count: (s: { echo: EchoDatagramProtocol; port: AutoListeningDatagramPort }) => number) =>
    served.reduce((total, s) => total + count(s), 0);
  const floor = served[0]?.echo.minSourcePort ?? 1024;
  return `; UDP: echoed ${sum((s) => s.echo.datagramsEchoed)} datagrams (${sum((s) => s.echo.bytesEchoed)} bytes), ignored ${
    sum((s) => s.echo.ignoredPorts)
  } from ports below ${floor}, ${sum((s) => s.echo.rateLimited)} over the rate, ${sum((s) => s.echo.oversized + s.port.sendDrops)} dropped`;
}
