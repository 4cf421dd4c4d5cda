/**
 * TLS for the Bun adapter, on `Bun.listen` and `Bun.connect` with `tls`: the same
 * handlers and `BunTCPSocket` as plain TCP, started once the handshake is done.
 *
 * @module
 */
import type { Dial } from "../../src/endpoints/client.ts";
import type { TlsClientEndpoint, TlsServerEndpoint } from "../../src/endpoints/endpoints.ts";
import { tcpAddress } from "../../src/transport/address.ts";
import type { Factory } from "../../src/transport/factory.ts";
import { listenError, resolveListenOptions } from "../../src/transport/listen_options.ts";
import { type ListeningPort, type ListenOptions, Port, preparePort } from "../../src/transport/port.ts";
import type { TlsInfo } from "../../src/transport/socket.ts";
import { attachConnection, bunApi, type BunHandlers, type BunSocket, BunTCPSocket, localAddresses, socketHandlers } from "./socket.ts";
import {
  clientTlsSettings,
  handshakeFailureLog,
  handshakeTimedOut,
  handshakeTimeoutOf,
  peerOf,
  readClientPem,
  readServerPem,
  serverTlsSettings,
  type TlsAbilities,
  type TlsSettings,
} from "../shared/tls_files.ts";

/** The slice of Bun's TLS socket this module uses besides the plain one's. */
interface BunTlsSocket extends BunSocket {
  readonly alpnProtocol: string | false | null;
  getPeerX509Certificate?(): { subject: string; issuer: string; validTo: string; fingerprint256: string } | undefined;
  timeout(seconds: number): void;
}

interface BunTlsHandlers extends BunHandlers {
  handshake(socket: BunSocket, success: boolean, authorizationError: Error | null): void;
  timeout(socket: BunSocket): void;
}

/** The slice of Bun's `TLSOptions` this module and `start_tls.ts` use. */
export interface BunTlsOptions {
  cert?: string;
  key?: string;
  ca?: string;
  serverName?: string;
  ALPNProtocols?: Uint8Array;
  rejectUnauthorized?: boolean;
  ciphers?: string;
  secureOptions?: number;
}

/** Bun takes a cipher list, and refuses TLS 1.2 through an OpenSSL option. */
export const BUN_TLS_ABILITIES: TlsAbilities = { name: "bun", ciphers: true, minVersion13: true };

/** BoringSSL's SSL_OP_NO_TLSv1_2: Bun's documented TLS options have no minVersion. */
const SSL_OP_NO_TLSV1_2 = 0x08000000;

/**
 * A TLS policy in Bun's terms.
 *
 * @param settings The cipher list and lowest version.
 * @returns `ciphers`, and `secureOptions` refusing TLS 1.2 where TLS 1.3 is the lowest.
 */
export function bunTlsPolicy(settings: TlsSettings): Pick<BunTlsOptions, "ciphers" | "secureOptions"> {
  return { ciphers: settings.ciphers, ...(settings.minVersion === "TLSv1.3" ? { secureOptions: SSL_OP_NO_TLSV1_2 } : {}) };
}

interface BunTlsApi {
  listen(options: {
    hostname: string;
    port: number;
    exclusive: boolean;
    reusePort: boolean;
    allowHalfOpen: boolean;
    tls: BunTlsOptions;
    socket: BunTlsHandlers;
  }): { readonly hostname: string; readonly port: number; stop(closeActive?: boolean): void };
  connect(options: { hostname: string; port: number; allowHalfOpen: boolean; tls: BunTlsOptions; socket: BunTlsHandlers }): Promise<BunSocket>;
}

class BunTlsSocket extends BunTCPSocket {
  readonly #raw: BunTlsSocket;

  constructor(sock: BunSocket) {
    super(sock);
    this.#raw = sock as BunTlsSocket;
  }

  tlsInfo(): TlsInfo {
    const alpnProtocol = typeof this.#raw.alpnProtocol === "string" ? this.#raw.alpnProtocol : null;
    const cert = this.#raw.getPeerX509Certificate?.();
    if (cert === undefined) return { alpnProtocol };
    const { subject, issuer, validTo, fingerprint256 } = cert;
    return { alpnProtocol, peerCertificate: { subject, issuer, validTo, fingerprint256 } };
  }
}

/** ALPN names in the wire format Bun takes: each prefixed by its length. */
export function alpnWire(protocols: readonly string[] | undefined): { ALPNProtocols?: Uint8Array } {
  if (protocols === undefined) return {};
  const parts = protocols.map((p) => new TextEncoder().encode(p));
  const out = new Uint8Array(parts.reduce((n, p) => n + 1 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out[at++] = p.length;
    out.set(p, at);
    at += p.length;
  }
  return { ALPNProtocols: out };
}

/** Builds the core's socket for a Bun TLS socket, with its `tlsInfo`. */
export const make = (sock: BunSocket): BunTCPSocket => new BunTlsSocket(sock);

/**
 * Listens for TLS with `Bun.listen({ tls })`. A connection is handed to the factory once
 * its handshake is done; a handshake that stalls is closed after the handshake timeout.
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
  let pem;
  let host: string;
  let port: number;
  let settings: TlsSettings;
  try {
    pem = readServerPem(endpoint);
    ({ host, port } = resolveListenOptions({ ...options, host: endpoint.host, port: endpoint.port }));
    settings = serverTlsSettings(endpoint, options, BUN_TLS_ABILITIES);
  } catch (error) {
    return Promise.reject(error);
  }
  let listening: Port | undefined;
  let handshakes: ReturnType<typeof handshakeFailureLog> | undefined;
  const local = localAddresses(() => listening!.address);
  const base = socketHandlers((sock, socket) => {
    listening!.accept(socket, tcpAddress(sock.remoteAddress, sock.remotePort), local(sock), attachConnection);
  }, make);
  const handshakeTimeout = handshakeTimeoutOf(options);
  // Terminating a socket whose handshake timed out fails its handshake too: one report per socket.
  const failed = new WeakSet<BunSocket>();
  // After a reset Bun no longer knows the peer's port: the address is kept from open.
  const peers = new WeakMap<BunSocket, string | undefined>();
  const fail = (sock: BunSocket, error: unknown) => {
    if (failed.has(sock)) return;
    failed.add(sock);
    handshakes?.failed(error, peerOf(sock.remoteAddress, sock.remotePort) ?? peers.get(sock));
  };
  const socket: BunTlsHandlers = {
    ...base,
    // With a handshake handler Bun opens at accept; the connection starts at the handshake.
    open(sock) {
      peers.set(sock, peerOf(sock.remoteAddress, sock.remotePort));
      // Bun takes whole seconds and checks them every few seconds: this may fire a few seconds late.
      (sock as BunTlsSocket).timeout(Math.ceil(handshakeTimeout / 1000));
    },
    handshake(sock, success, error) {
      (sock as BunTlsSocket).timeout(0);
      // Without client certificates a good handshake succeeds; a plaintext client fails here (HTTP_REQUEST).
      if (!success) {
        fail(sock, error ?? new Error("TLS handshake failed"));
        sock.terminate();
        return;
      }
      listening!.handshakeCompleted();
      base.open(sock);
    },
    timeout(sock) {
      if (sock.data === undefined) {
        fail(sock, handshakeTimedOut(handshakeTimeout));
        sock.terminate();
      }
    },
    error(sock, error) {
      if (sock.data === undefined) fail(sock, error);
      else base.error(sock, error);
    },
    // A reset before the handshake ends reaches only close, with its error: it went unreported.
    close(sock, error) {
      if (sock.data !== undefined) base.close(sock, error);
      else if (error !== undefined) fail(sock, error);
    },
  };
  let listener;
  try {
    listener = (bunApi() as unknown as BunTlsApi).listen({
      hostname: host,
      port,
      // Workers share the port with SO_REUSEPORT, as in tcp.ts.
      exclusive: options.reusePort !== true,
      reusePort: options.reusePort === true,
      allowHalfOpen: true,
      tls: { cert: pem.cert, key: pem.key, ...alpnWire(endpoint.alpn), ...bunTlsPolicy(settings) },
      socket,
    });
  } catch (error) {
    return Promise.reject(listenError(host, port, error));
  }
  const boundHost = listener.hostname === "localhost" ? "127.0.0.1" : listener.hostname;
  handshakes = handshakeFailureLog({ ...endpoint, port: listener.port }, options.log, () => listening!.handshakeFailed());
  listening = new Port(factory, tcpAddress(boundHost, listener.port), options, () => {
    handshakes!.stop();
    listener.stop(false);
  });
  return Promise.resolve(listening);
}

/**
 * Opens one TLS client connection with `Bun.connect({ tls })`; it settles once the handshake
 * is done and the certificate checked against `trustRoots` (or the system's) and the name.
 *
 * @param endpoint The `tls:` endpoint.
 * @param open Builds the connection once the handshake is done.
 * @returns Settles once connected, or rejects with the runtime's error.
 */
export function dialTls(endpoint: TlsClientEndpoint, open: Parameters<Dial>[1]): Promise<void> {
  const pem = readClientPem(endpoint);
  const settings = clientTlsSettings(endpoint, BUN_TLS_ABILITIES);
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const base = socketHandlers((sock, socket) => {
      open(socket, tcpAddress(sock.remoteAddress, sock.remotePort), tcpAddress(sock.localAddress, sock.localPort), (c) => {
        socket.connection = c;
      });
    }, make);
    const socket: BunTlsHandlers = {
      ...base,
      open() {},
      handshake(sock, success, authorizationError) {
        if (!success) {
          fail(authorizationError ?? new Error("TLS handshake failed"));
          sock.terminate();
          return;
        }
        settled = true;
        base.open(sock);
        resolve();
      },
      timeout() {},
      error(sock, error) {
        if (sock.data === undefined) fail(error);
        else base.error(sock, error);
      },
      close(sock, error) {
        if (sock.data === undefined) fail(error ?? new Error("Connection closed during the TLS handshake"));
        else base.close(sock, error);
      },
      connectError(_sock, error) {
        fail(error);
      },
    };
    (bunApi() as unknown as BunTlsApi)
      .connect({
        hostname: endpoint.host,
        port: endpoint.port,
        allowHalfOpen: true,
        tls: {
          serverName: endpoint.servername,
          rejectUnauthorized: true,
          ...(pem.ca === undefined ? {} : { ca: pem.ca }),
          ...(pem.cert === undefined ? {} : { cert: pem.cert, key: pem.key }),
          ...alpnWire(endpoint.alpn),
          ...bunTlsPolicy(settings),
        },
        socket,
      })
      .catch(fail);
  });
}
