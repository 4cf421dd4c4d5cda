/**
 * Source addresses for the load generator's `--source`: blocks of consecutive addresses on
 * 127.0.0.0/8, which Linux routes to the loopback interface whole. A connection's
 * TIME_WAIT belongs to its four-tuple, so a row that connects from a block no earlier row
 * used starts with every port free, whatever the rows before it left; and each address
 * brings its own ~28,000 ephemeral ports to one server port.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";

/** Addresses per block: 16 × ~28,000 ports, more connections than any row opens in 2 minutes. */
export const BLOCK = 16;

// Blocks start at 127.16.0.1; each process starts at a block of its own, so that two runs
// at once (test files in parallel workers) do not share one.
let next = (process.pid % 4096) * 8;

/**
 * A block of source addresses no earlier call in this process returned.
 *
 * @param count Addresses in the block, at most 256.
 * @returns `ADDR/COUNT` for the load generator's `--source`, e.g. `127.16.3.1/16`.
 */
export function freshSources(count = BLOCK): string {
  const block = next++ % (240 * 256);
  return `127.${16 + (block >> 8)}.${block & 255}.1/${Math.min(count, 254)}`;
}

/**
 * Sockets in TIME_WAIT on this machine now, from /proc/net/sockstat (Linux), recorded
 * beside the rows that open and close connections.
 *
 * @returns Their number, or undefined where /proc does not say.
 */
export function timeWaitSockets(): number | undefined {
  try {
    const m = /TCP:.* tw (\d+)/.exec(readFileSync("/proc/net/sockstat", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
