/**
 * Checked by `deno check` only: the slices of Deno's API that deno.ts declares
 * must be satisfied by the real types, so a Deno upgrade that changes them fails the typecheck.
 *
 * @module
 */
import type { DenoApi, DenoConn, DenoListener } from "./deno.ts";

export const conn: (c: Deno.TcpConn) => DenoConn = (c) => c;
export const listener: (l: Deno.TcpListener) => DenoListener = (l) => l;
export const api: (d: typeof Deno) => Pick<DenoApi, "permissions"> = (d) => d;
export const listen: (d: typeof Deno) => (o: { hostname: string; port: number; transport: "tcp" }) => DenoListener = (
  d,
) => (o) => d.listen(o);
export const connect: (d: typeof Deno) => import("./deno.ts").DenoConnectApi = (d) => d;
