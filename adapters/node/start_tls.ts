/**
 * `startTLS()` for the `node:net` adapter, on `node:tls`: `new tls.TLSSocket(socket, { isServer })`
 * for an accepted connection, `tls.connect({ socket })` for one we opened. The same on Node,
 * Bun's `node:tls` and Deno's.
 *
 * @module
 */
import { isIP } from "node:net";
import type net from "node:net";
import tls from "node:tls";
import type { Socket } from "../../src/transport/socket.ts";
import type { StartTlsOptions } from "../../src/transport/start_tls.ts";
import { type NodeSocket, wire } from "./socket.ts";
import { NODE_TLS_ABILITIES, TlsNodeSocket } from "./tls_socket.ts";
import { readStartTlsPem, startTlsSettings } from "../shared/start_tls_files.ts";

const onDeno = (globalThis as { Deno?: unknown }).Deno !== undefined;

/**
 * Upgrades a plaintext `node:net` socket in place; the connection it served gets the TLS one.
 *
 * @param sock The plaintext socket, paused by the connection.
 * @param plain Its `NodeSocket`, whose events are detached here.
 * @param options Which side of the handshake, and its files.
 * @returns The TLS socket, wired to the same connection, once the handshake is done.
 */
export function upgradeNodeSocket(sock: net.Socket, plain: NodeSocket, options: StartTlsOptions): Promise<Socket> {
  const connection = plain.connection;
  const pem = readStartTlsPem(options);
  const settings = startTlsSettings(options, NODE_TLS_ABILITIES);
  plain.unwire();
  // The TLS socket reports the errors now; this keeps a late one on the plaintext side from being unhandled.
  sock.on("error", () => {});
  const alpn = options.alpn === undefined ? {} : { ALPNProtocols: [...options.alpn] };
  const policy = { ciphers: settings.ciphers, minVersion: settings.minVersion };
  let secure: tls.TLSSocket;
  if (options.side === "server") {
    // A TLSSocket takes allowHalfOpen from the socket it wraps, which the adapters open half-open.
    secure = new tls.TLSSocket(sock, { isServer: true, cert: pem.cert, key: pem.key, ...policy, ...alpn });
  } else {
    const servername = options.servername;
    secure = tls.connect({
      socket: sock,
      // RFC 6066 forbids an IP address as SNI name; the certificate is still checked against it.
      ...(isIP(servername) ? {} : { servername }),
      ...(pem.ca === undefined ? {} : { ca: pem.ca }),
      ...(pem.cert === undefined ? {} : { cert: pem.cert, key: pem.key }),
      ...policy,
      ...alpn,
      checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(servername, cert),
    });
  }
  return new Promise<Socket>((resolve, reject) => {
    const fail = (error: unknown) => {
      secure.off("close", closed);
      secure.off("end", closed);
      secure.destroy();
      sock.destroy();
      reject(error);
    };
    const closed = () => fail(new Error("the peer closed the connection during the TLS handshake"));
    secure.once("error", fail);
    secure.once("close", closed);
    // Node's server-side TLSSocket sees a peer that gives up mid-handshake only as an end, never closing.
    secure.once("end", closed);
    secure.once(options.side === "server" ? "secure" : "secureConnect", () => {
      secure.off("error", fail);
      secure.off("close", closed);
      secure.off("end", closed);
      secure.setNoDelay(true);
      const socket = new TlsNodeSocket(secure);
      // Deno's node:tls never resumes a paused TLSSocket (see node_tls.ts): reading is not paused there.
      if (onDeno) socket.pauseReading = () => {};
      wire(secure, socket, connection);
      resolve(socket);
    });
  });
}
