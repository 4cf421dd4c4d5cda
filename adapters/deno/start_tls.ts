/**
 * `startTLS()` for the Deno adapter, on `Deno.startTls`, which plays only the client's side
 * of the handshake (denoland/deno#18451): an accepted connection cannot be upgraded natively,
 * and the `node:net` adapter's `node:tls` can.
 *
 * @module
 */
import type { Socket, TlsInfo } from "../../src/transport/socket.ts";
import type { StartTlsOptions } from "../../src/transport/start_tls.ts";
import { type DenoConn, DenoSocket, denoApi } from "./socket.ts";
import { readStartTlsPem, startTlsSettings } from "../shared/start_tls_files.ts";
import type { TlsAbilities } from "../shared/tls_files.ts";

// Deno.startTls takes no TLS settings, as Deno.connectTls: rustls's defaults, Mozilla's intermediate ones (see tls.ts).
const ABILITIES: TlsAbilities = { name: "deno native", ciphers: false, minVersion13: false };

/** The slice of `Deno.startTls` this module uses. */
interface DenoStartTlsApi {
  startTls(conn: DenoConn, options: { hostname: string; caCerts?: string[]; alpnProtocols?: string[] }): Promise<
    DenoConn & { handshake(): Promise<{ alpnProtocol: string | null }> }
  >;
}

class StartedTlsSocket extends DenoSocket {
  alpnProtocol: string | null = null;

  tlsInfo(): TlsInfo {
    return { alpnProtocol: this.alpnProtocol };
  }
}

/**
 * Upgrades a plaintext Deno connection we opened; the connection it served gets the TLS one.
 *
 * @param plain The plaintext socket, paused by the connection.
 * @param options The client's side of the handshake (the server's is refused).
 * @returns The TLS socket, wired to the same connection, once the handshake is done.
 * @throws {Error} For the server's side, or a client certificate, which `Deno.startTls` does not take.
 */
export async function upgradeDenoSocket(plain: DenoSocket, options: StartTlsOptions): Promise<Socket> {
  if (options.side === "server") {
    throw new Error("deno native cannot upgrade an accepted connection (Deno.startTls is client-side only); listen with --adapter node");
  }
  if (options.certificate !== undefined) {
    throw new Error("deno native cannot send a client certificate after STARTTLS (Deno.startTls takes none); use --adapter node");
  }
  const pem = readStartTlsPem(options);
  startTlsSettings(options, ABILITIES);
  const conn = await plain.detach();
  let tlsConn: DenoConn | undefined;
  let aborted = false;
  // The connection holds the detached socket until the handshake is done: aborting it (the idle
  // timeout) must close whichever connection is current.
  plain.abort = () => {
    aborted = true;
    try {
      (tlsConn ?? conn).close();
    } catch {
      // Taken over by Deno.startTls, or closed already.
    }
  };
  let alpnProtocol: string | null;
  try {
    const started = await (denoApi() as unknown as DenoStartTlsApi).startTls(conn, {
      hostname: options.servername,
      ...(pem.ca === undefined ? {} : { caCerts: [pem.ca] }),
      ...(options.alpn === undefined ? {} : { alpnProtocols: [...options.alpn] }),
    });
    tlsConn = started;
    if (aborted) throw new Error("the connection was aborted during the TLS handshake");
    ({ alpnProtocol } = await started.handshake());
  } catch (error) {
    try {
      (tlsConn ?? conn).close();
    } catch {
      // Closed by the runtime already.
    }
    throw error;
  }
  const socket = new StartedTlsSocket(tlsConn);
  socket.awaitWrites = plain.awaitWrites;
  socket.alpnProtocol = alpnProtocol;
  socket.connection = plain.connection;
  void socket.readLoop();
  return socket;
}
