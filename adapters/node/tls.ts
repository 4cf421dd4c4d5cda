/**
 * TLS for the `node:net` adapter, on `node:tls`: its `TLSSocket` is a `net.Socket`, so
 * accepted and connected TLS sockets use the same `NodeSocket` and wiring as plain ones.
 *
 * @module
 */
import { isIP } from "node:net";
import tls from "node:tls";
import type { TlsClientEndpoint, TlsServerEndpoint } from "../../src/endpoints/endpoints.ts";
import { formatAddress, tcpAddress } from "../../src/transport/address.ts";
import type { Factory } from "../../src/transport/factory.ts";
import { ListenError, listenError, resolveListenOptions } from "../../src/transport/listen_options.ts";
import { type ListeningPort, type ListenOptions, Port, preparePort } from "../../src/transport/port.ts";
import { wire } from "./socket.ts";
import { NODE_TLS_ABILITIES, TlsNodeSocket as Socket } from "./tls_socket.ts";
import { keepAccepting } from "./rearm.ts";
import { inClusterWorker, reusePortUnsupported } from "./reuse_port.ts";
import { detectRuntime } from "../runtime.ts";
import {
  clientTlsSettings,
  handshakeFailureLog,
  handshakeTimedOut,
  handshakeTimeoutOf,
  peerOf,
  readClientPem,
  readServerPem,
  serverTlsSettings,
} from "../shared/tls_files.ts";
import type { Dial } from "../../src/endpoints/client.ts";

/**
 * Listens for TLS with `node:tls`.
 *
 * @param factory Builds a protocol per connection.
 * @param endpoint The `ssl:` endpoint: address, certificate and key files, ALPN, TLS policy.
 * @param options Watermarks, limits, idle timeout, handshake timeout, TLS policy.
 * @returns The listening port, once bound.
 * @throws {ListenError} For an unreadable file, a certificate that does not match its key, a TLS policy
 * this runtime cannot apply, or an address that cannot be bound.
 */
export async function listenTls(factory: Factory, endpoint: TlsServerEndpoint, options: ListenOptions = {}): Promise<ListeningPort> {
  await preparePort(options);
  const pem = readServerPem(endpoint);
  const { host, port } = resolveListenOptions({ ...options, host: endpoint.host, port: endpoint.port });
  const noReusePort = options.reusePort === true ? reusePortUnsupported(detectRuntime()) : undefined;
  if (noReusePort !== undefined) throw new ListenError(`Cannot listen on ssl:${formatAddress({ host, port })}: ${noReusePort}`, "ENOTSUP");
  const settings = serverTlsSettings(endpoint, options, NODE_TLS_ABILITIES);
  const handshakeTimeout = handshakeTimeoutOf(options);
  const server = tls.createServer({
    key: pem.key,
    cert: pem.cert,
    ciphers: settings.ciphers,
    minVersion: settings.minVersion,
    ...(endpoint.alpn === undefined ? {} : { ALPNProtocols: [...endpoint.alpn] }),
    // Before its handshake ends, a TLSSocket hears a peer's FIN only as 'end'; half-open, it would wait in
    // CLOSE_WAIT with its descriptor until the handshake timeout (Node, Deno; and a RST too on Deno).
    // Not half-open, it closes at once and reports 'tlsClientError'. Served connections are half-open
    // again from 'secureConnection' on, which comes before an 'end' read in the same chunk.
    allowHalfOpen: false,
    handshakeTimeout,
  });
  // As in tcp.ts: workers share the port with SO_REUSEPORT, or through a node:cluster primary.
  const reusePort = options.reusePort === true;
  const exclusive = !reusePort && !(await inClusterWorker());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, exclusive, reusePort, backlog: endpoint.backlog }, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    throw listenError(host, port, error);
  }
  const bound = server.address() as { address: string; port: number };
  let stopRearming: () => void;
  try {
    // A tls.Server's handle is the TCP listener's, so it stalls on Deno as a plain one does.
    stopRearming = keepAccepting(server, (error) => listening.listenerLost(error));
  } catch (error) {
    server.close();
    throw listenError(bound.address, bound.port, error);
  }
  const handshakes = handshakeFailureLog({ ...endpoint, port: bound.port }, options.log, () => listening.handshakeFailed());
  const listening = new Port(factory, tcpAddress(bound.address, bound.port), options, () => {
    stopRearming();
    handshakes.stop();
    server.close();
  });
  // After listening, a server's errors are failed accepts: counted, and logged at most once a second.
  server.on("error", (error) => listening.acceptFailed(error));
  // A renewed certificate: the files are checked as at listen, and only a good pair replaces the context.
  const reloadCertificate = () => {
    const fresh = readServerPem(endpoint);
    server.setSecureContext({ key: fresh.key, cert: fresh.cert, ciphers: settings.ciphers, minVersion: settings.minVersion });
  };
  // A TLSSocket closed before its handshake ends no longer knows its peer on Node and Deno; its
  // `_parent`, the raw socket, is the key to the address seen at accept (Bun's keeps its own).
  const peers = new WeakMap<object, string | undefined>();
  server.on("connection", (raw: import("node:net").Socket) => peers.set(raw, peerOf(raw.remoteAddress, raw.remotePort)));
  // handshakeTimeout fires on Node 20 and 26, Bun 1.4 and Deno 2.9 alike (measured), even for a peer
  // that trickles its ClientHello, but only reports: closing is ours. A timer of twine's own on the raw
  // socket would report the same peer twice, the second time as the "socket hang up" it causes.
  server.on("tlsClientError", (error, sock) => {
    const timedOut = (error as { code?: unknown }).code === "ERR_TLS_HANDSHAKE_TIMEOUT" || error.message === "TLS handshake timeout";
    const raw = (sock as unknown as { _parent?: object | null })._parent;
    const peer = peerOf(sock.remoteAddress, sock.remotePort) ?? (raw ? peers.get(raw) : undefined);
    handshakes.failed(timedOut ? handshakeTimedOut(handshakeTimeout, error) : error, peer);
    sock.destroy();
  });
  server.on("secureConnection", (sock: tls.TLSSocket) => {
    // Streams read allowHalfOpen when 'end' comes, so this is in time for a FIN already on its way.
    sock.allowHalfOpen = true;
    listening.handshakeCompleted();
    sock.setNoDelay(true);
    const socket = new Socket(sock);
    const peer = tcpAddress(sock.remoteAddress ?? "", sock.remotePort ?? 0);
    const local = tcpAddress(sock.localAddress ?? bound.address, sock.localPort ?? bound.port);
    listening.accept(socket, peer, local, (connection) => wire(sock, socket, connection));
  });
  return Object.assign(listening, { reloadCertificate });
}

/**
 * Opens one TLS client connection with `node:tls`; the certificate is checked against
 * `trustRoots` (or the system's) and the SNI name.
 *
 * @param endpoint The `tls:` endpoint.
 * @param open Builds the connection once the handshake is done.
 * @returns Settles once connected, or rejects with the runtime's error.
 */
export const dialTls = (endpoint: TlsClientEndpoint, open: Parameters<Dial>[1]): Promise<void> => {
  const pem = readClientPem(endpoint);
  const settings = clientTlsSettings(endpoint, NODE_TLS_ABILITIES);
  return new Promise<void>((resolve, reject) => {
    const sock = tls.connect({
      host: endpoint.host,
      port: endpoint.port,
      ciphers: settings.ciphers,
      minVersion: settings.minVersion,
      // RFC 6066 forbids an IP address as SNI name; the certificate is still checked against it.
      ...(isIP(endpoint.servername) ? {} : { servername: endpoint.servername }),
      ...(pem.ca === undefined ? {} : { ca: pem.ca }),
      ...(pem.cert === undefined ? {} : { cert: pem.cert, key: pem.key }),
      ...(endpoint.alpn === undefined ? {} : { ALPNProtocols: [...endpoint.alpn] }),
      allowHalfOpen: true,
      checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(endpoint.servername, cert),
    } as tls.ConnectionOptions);
    sock.once("error", reject);
    sock.once("secureConnect", () => {
      sock.off("error", reject);
      sock.setNoDelay(true);
      const socket = new Socket(sock);
      const peer = tcpAddress(sock.remoteAddress ?? endpoint.host, sock.remotePort ?? endpoint.port);
      const local = tcpAddress(sock.localAddress ?? "", sock.localPort ?? 0);
      open(socket, peer, local, (connection) => wire(sock, socket, connection));
      resolve();
    });
  });
};
