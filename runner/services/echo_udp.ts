/**
 * The echo service's UDP side: UDP echo on the same port as TCP, and its part of the summary.
 *
 * @module
 */
import { ListenError } from "../../src/transport/listen_options.ts";

/** How many times to look for a port free for both TCP and UDP when asked for port 0. */
const ATTEMPTS = 20;

/** A bound socket, as far as {@link listenTcpAndUdp} needs one. */
export interface Bound {
  readonly address: { readonly port: number };
}

/**
 * Binds UDP on the TCP listener's port. With port 0, a port free for TCP may be taken for UDP;
 * then TCP is bound again elsewhere, up to {@link ATTEMPTS} times.
 *
 * @param listenTcp Binds TCP on the given port.
 * @param listenUdp Binds UDP on the given port.
 * @param requested The port asked for (0 for any).
 * @returns Both.
 * @throws {ListenError} If UDP cannot be bound.
 */
export async function listenTcpAndUdp<T extends Bound & { close(): Promise<void> }, U extends Bound>(
  listenTcp: (port: number) => Promise<T>,
  listenUdp: (port: number) => Promise<U>,
  requested: number,
): Promise<{ tcp: T; udp: U }> {
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
 * What UDP echo served, from counts summed over its sockets.
 *
 * @param counts `datagramsEchoed`, `udpBytesEchoed`, `ignoredPorts`, `rateLimited`, `udpDropped`.
 * @param floor The lowest source port answered.
 * @returns e.g. `UDP: echoed 3 datagrams (9 bytes), ignored 1 from ports below 1024, 0 over the rate, 0 dropped`.
 */
export function udpSummary(counts: Record<string, number>, floor = 1024): string {
  const n = (name: string) => counts[name] ?? 0;
  return `UDP: echoed ${n("datagramsEchoed")} datagrams (${n("udpBytesEchoed")} bytes), ignored ${n("ignoredPorts")} from ports below ${floor}, ${
    n("rateLimited")
  } over the rate, ${n("udpDropped")} dropped`;
}
