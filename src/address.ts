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
  /** Always `"TCP"`: the only transport twine speaks today. */
  readonly type: "TCP";
  /** The IP address, without brackets for IPv6. */
  readonly host: string;
  /** The port number. */
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
 * Formats an address as `host:port`, bracketing IPv6 hosts.
 *
 * @param address The address to format.
 * @returns The address as text, e.g. `127.0.0.1:8000` or `[::1]:8000`.
 */
export function formatAddress(address: Pick<Address, "host" | "port">): string {
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}
