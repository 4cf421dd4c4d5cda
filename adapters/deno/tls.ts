/**
 * TLS for the Deno adapter, on `Deno.listenTls` and `Deno.connectTls`: a TLS connection
 * reads and writes as a plain one, so the same `DenoSocket` and accept loop serve it.
 * Deno exposes the agreed ALPN protocol but not the peer's certificate, and takes the
 * SNI name from the host it connects to.
 *
 * @module
 */
import type { Dial } from "../../src/endpoints/client.ts";
import { ConnectError } from "../../src/endpoints/connect_error.ts";
import type { TlsClientEndpoint, TlsServerEndpoint } from "../../src/endpoints/endpoints.ts";
import { tcpAddress } from "../../src/transport/address.ts";
import type { Factory } from "../../src/transport/factory.ts";
import { listenError, resolveListenOptions } from "../../src/transport/listen_options.ts";
import { type ListeningPort, type ListenOptions, Port, preparePort } from "../../src/transport/port.ts";
import type { TlsInfo } from "../../src/transport/socket.ts";
import { HandshakeDeadlines } from "./handshake_deadlines.ts";
import { acceptLoop, addressOf, type DenoConn, type DenoListener, DenoSocket, denoApi } from "./socket.ts";
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
} from "../shared/tls_files.ts";

/**
 * `Deno.listenTls`, `Deno.connectTls` and `Deno.startTls` take no TLS settings: rustls's defaults,
 * which are Mozilla's intermediate configuration (aws-lc-rs provider: TLS 1.3, and TLS 1.2 with
 * ECDHE and AES-GCM or ChaCha20). Only a policy that asks for something else is refused.
 */
const DENO_TLS_ABILITIES: TlsAbilities = { name: "deno native", ciphers: false, minVersion13: false };

/** The slice of `Deno.TlsConn` this module uses besides the plain one's. */
export interface DenoTlsConn extends DenoConn {
  handshake(): Promise<{ alpnProtocol: string | null }>;
}

/** The slice of `Deno.listenTls` and `Deno.connectTls` this module uses. */
export interface DenoTlsApi {
  listenTls(options: {
    hostname: string;
    port: number;
    cert: string;
    key: string;
    alpnProtocols?: string[];
    transport: "tcp";
    reusePort?: boolean;
  }): DenoListener;
  connectTls(options: { hostname: string; port: number; caCerts?: string[]; alpnProtocols?: string[]; cert?: string; key?: string }): Promise<DenoTlsConn>;
}

class DenoTlsSocket extends DenoSocket {
  alpnProtocol: string | null = null;

  tlsInfo(): TlsInfo {
    return { alpnProtocol: this.alpnProtocol };
  }
}

/**
 * Listens for TLS with `Deno.listenTls`. The connection starts at accept and its first
 * read drives the handshake; one that has not finished within the handshake timeout is
 * closed, though Deno keeps its TCP socket until the peer acts (see docs/endpoints.md).
 * Needs `--allow-net --allow-read`.
 *
 * @param factory Builds a protocol per connection.
 * @param endpoint The `ssl:` endpoint: address, certificate and key files, ALPN (a TLS policy other than
 * the default is refused).
 * @param options Watermarks, limits, idle timeout, handshake timeout.
 * @returns The listening port, once bound.
 * @throws {ListenError} For an unreadable file, a certificate that does not match its key, or an address that cannot be bound.
 */
export async function listenTls(factory: Factory, endpoint: TlsServerEndpoint, options: ListenOptions = {}): Promise<ListeningPort> {
  await preparePort(options);
  let pem;
  let host: string;
  let port: number;
  try {
    pem = readServerPem(endpoint);
    ({ host, port } = resolveListenOptions({ ...options, host: endpoint.host, port: endpoint.port }));
    serverTlsSettings(endpoint, options, DENO_TLS_ABILITIES);
  } catch (error) {
    return Promise.reject(error);
  }
  let listener: DenoListener;
  try {
    listener = (denoApi() as unknown as DenoTlsApi).listenTls({
      hostname: host,
      port,
      cert: pem.cert,
      key: pem.key,
      ...(endpoint.alpn === undefined ? {} : { alpnProtocols: [...endpoint.alpn] }),
      transport: "tcp",
      // Workers share the port with SO_REUSEPORT, as in tcp.ts (behind --unstable-net there too).
      ...(options.reusePort ? { reusePort: true } : {}),
    });
  } catch (error) {
    return Promise.reject(listenError(host, port, error));
  }
  const bound = addressOf(listener.addr);
  const handshakeTimeout = handshakeTimeoutOf(options);
  // Deno bounds no handshake. Closing the TlsConn ends the connection for twine (its reads fail,
  // connectionLost runs) but not the TCP socket: Deno's handshake task owns that, with no timeout,
  // until the peer sends, closes or resets (rustls-tokio-stream, src/stream.rs, Drop).
  const deadlines = new HandshakeDeadlines<DenoTlsConn>(handshakeTimeout, (conn) => {
    try {
      conn.close();
    } catch {
      // Closed by its connection already.
    }
  });
  const handshakes = handshakeFailureLog({ ...endpoint, port: bound.port }, options.log, () => listening.handshakeFailed());
  const listening = new Port(factory, tcpAddress(bound.hostname, bound.port), options, () => {
    handshakes.stop();
    deadlines.stop();
    listener.close();
  });
  const completed = () => listening.handshakeCompleted();
  // Each accepted connection's handshake is watched beside its read loop, to bound it and log failures.
  const watch = (conn: DenoTlsConn): void => {
    const ticket = deadlines.add(conn);
    conn.handshake().then(
      () => {
        deadlines.done(ticket);
        completed();
      },
      (error) => {
        const expired = !deadlines.done(ticket);
        const remote = addressOf(conn.remoteAddr);
        handshakes.failed(expired ? handshakeTimedOut(handshakeTimeout, error) : error, peerOf(remote.hostname, remote.port));
      },
    );
  };
  // Deno's TlsConn has no setNoDelay (rustls sits between).
  void acceptLoop(listener, listening, undefined, false, watch as (conn: DenoConn) => void);
  return Promise.resolve(listening);
}

/**
 * Opens one TLS client connection with `Deno.connectTls`; it settles once the handshake is
 * done. `trustRoots` are trusted besides the system's roots: Deno cannot replace them.
 *
 * @param endpoint The `tls:` endpoint.
 * @param open Builds the connection once the handshake is done.
 * @returns Settles once connected, or rejects with the runtime's error.
 */
export async function dialTls(endpoint: TlsClientEndpoint, open: Parameters<Dial>[1]): Promise<void> {
  if (endpoint.servername !== endpoint.host) {
    throw new ConnectError(
      `Cannot connect to tls:${endpoint.host}:${endpoint.port}: deno takes the SNI name from the host; connect to host=${endpoint.servername} instead`,
      "EINVAL",
    );
  }
  const pem = readClientPem(endpoint);
  clientTlsSettings(endpoint, DENO_TLS_ABILITIES);
  const conn = await (denoApi() as unknown as DenoTlsApi).connectTls({
    hostname: endpoint.host,
    port: endpoint.port,
    ...(pem.ca === undefined ? {} : { caCerts: [pem.ca] }),
    ...(pem.cert === undefined ? {} : { cert: pem.cert, key: pem.key }),
    ...(endpoint.alpn === undefined ? {} : { alpnProtocols: [...endpoint.alpn] }),
  });
  let info;
  try {
    info = await conn.handshake();
  } catch (error) {
    conn.close();
    throw error;
  }
  const socket = new DenoTlsSocket(conn);
  socket.awaitWrites = false;
  socket.alpnProtocol = info.alpnProtocol;
  const peer = addressOf(conn.remoteAddr);
  const local = addressOf(conn.localAddr);
  open(socket, tcpAddress(peer.hostname, peer.port), tcpAddress(local.hostname, local.port), (c) => {
    socket.connection = c;
  });
  void socket.readLoop();
}
