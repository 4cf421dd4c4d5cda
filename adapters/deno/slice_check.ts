/**
 * Checked by `deno check` only: the slices of Deno's API that deno.ts declares
 * must be satisfied by the real types, so a Deno upgrade that changes them fails the typecheck.
 *
 * @module
 */
import type { DenoApi, DenoConn, DenoListener } from "./socket.ts";

export const conn: (c: Deno.TcpConn) => DenoConn = (c) => c;
export const listener: (l: Deno.TcpListener) => DenoListener = (l) => l;
export const api: (d: typeof Deno) => Pick<DenoApi, "permissions"> = (d) => d;
export const listen: (d: typeof Deno) => (o: { hostname: string; port: number; transport: "tcp" }) => DenoListener = (
  d,
) => (o) => d.listen(o);
// A Unix connection lacks only setNoDelay, which the adapter calls on TCP connections alone.
type UnixConnSlice = Omit<DenoConn, "setNoDelay">;
export const connectTcp = (d: typeof Deno) => (o: { hostname: string; port: number; transport: "tcp" }): Promise<DenoConn> =>
  d.connect(o);
export const connectUnix = (d: typeof Deno) => (o: { path: string; transport: "unix" }): Promise<UnixConnSlice> =>
  d.connect(o);
export const listenUnix = (d: typeof Deno) => (o: { path: string; transport: "unix" }): { accept(): Promise<UnixConnSlice>; close(): void } =>
  d.listen(o);
export const listenTls = (d: typeof Deno) =>
(o: { hostname: string; port: number; cert: string; key: string; alpnProtocols?: string[]; transport: "tcp" }): {
  accept(): Promise<UnixConnSlice>;
} =>
  d.listenTls(o);
export const connectTls = (d: typeof Deno) =>
(o: { hostname: string; port: number; caCerts?: string[]; alpnProtocols?: string[]; cert?: string; key?: string }): Promise<
  Omit<import("./tls.ts").DenoTlsConn, "setNoDelay">
> => d.connectTls(o);
