/**
 * The address of one end of a TCP connection, as Twisted's `IPv4Address`.
 *
 * @example
 * ```ts
 * import { formatAddress } from "./address.ts";
 * formatAddress({ type: "TCP", host: "::1", port: 8000 }); // "[::1]:8000"
 * ```
 */
export interface Address {
  /** `"TCP"` (TLS connections too), or `"UNIX"` for a Unix domain socket. */
  readonly type: "TCP" | "UNIX";
  /** The IP address, without brackets for IPv6; for `"UNIX"`, the socket's path (empty for an unnamed peer). */
  readonly host: string;
  /** The port number; 0 for `"UNIX"`. */
  readonly port: number;
}

/**
 * Builds an {@link Address}.
 *
 * @param host The IP address.
 * @param port The port number.
 * @returns The address.
 */
export function tcpAddress(host: string, port: number): Address {
  return { type: "TCP", host, port };
}

/**
 * Builds the {@link Address} of a Unix domain socket, as Twisted's `UNIXAddress`.
 *
 * @param path The socket file's path; empty for a client's unnamed socket.
 * @returns The address, with the path as `host` and port 0.
 */
export function unixAddress(path: string): Address {
  return { type: "UNIX", host: path, port: 0 };
}

/**
 * Formats an address as `host:port`, bracketing IPv6 hosts.
 *
 * @param address The address to format.
 * @returns The address as text, e.g. `127.0.0.1:8000`, `[::1]:8000` or `unix:/tmp/echo.sock`.
 */
export function formatAddress(address: { host: string; port: number; type?: string }): string {
  if (address.type === "UNIX") return `unix:${address.host}`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}
