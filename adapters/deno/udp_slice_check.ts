/// <reference lib="deno.unstable" />
/**
 * Checked by `deno check` only: the slice of `Deno.DatagramConn` that deno_udp.ts
 * declares must be satisfied by the real types.
 *
 * @module
 */
import type { DenoDatagramConn } from "./udp.ts";

export const conn: (c: Deno.DatagramConn) => DenoDatagramConn = (c) => c;
export const listen: (d: typeof Deno) => (o: { hostname: string; port: number; transport: "udp" }) => DenoDatagramConn = (
  d,
) => (o) => d.listenDatagram(o);
