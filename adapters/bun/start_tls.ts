/**
 * `startTLS()` for the Bun adapter, on `socket.upgradeTLS`: Bun 1.4 upgrades accepted
 * sockets (as a TLS server) as well as connected ones (as a client).
 *
 * @module
 */
import type { Connection } from "../../src/transport/connection.ts";
import type { Socket } from "../../src/transport/socket.ts";
import type { StartTlsOptions } from "../../src/transport/start_tls.ts";
import { type BunHandlers, type BunSocket, type BunTCPSocket, socketHandlers } from "./socket.ts";
import { alpnWire, BUN_TLS_ABILITIES, type BunTlsOptions, bunTlsPolicy, make } from "./tls.ts";
import { readStartTlsPem, startTlsSettings } from "../shared/start_tls_files.ts";

/** The slice of Bun's `socket.upgradeTLS` this module uses. */
interface Upgradable extends BunSocket {
  upgradeTLS(options: {
    tls: BunTlsOptions;
    socket: BunHandlers & { handshake(socket: BunSocket, success: boolean, error: Error | null): void; timeout(socket: BunSocket): void };
  }): [raw: BunSocket, tls: BunSocket];
}

// Bun goes on calling the plaintext socket's handlers with the raw bytes and the close
// after the upgrade (a "raw tap"); once upgraded they belong to the TLS socket, so they go nowhere.
const ignored = {
  received() {},
  writable() {},
  readEnded() {},
  closed() {},
  keepsData: true,
} as unknown as Connection;

/**
 * Upgrades a plaintext Bun socket in place; the connection it served gets the TLS one.
 *
 * @param sock The plaintext socket, paused by the connection.
 * @param plain Its core socket, detached from the connection here.
 * @param options Which side of the handshake, and its files.
 * @returns The TLS socket, wired to the same connection, once the handshake is done.
 */
export function upgradeBunSocket(sock: BunSocket, plain: BunTCPSocket, options: StartTlsOptions): Promise<Socket> {
  const connection = plain.connection;
  const pem = readStartTlsPem(options);
  const policy = bunTlsPolicy(startTlsSettings(options, BUN_TLS_ABILITIES));
  plain.connection = ignored;
  return new Promise<Socket>((resolve, reject) => {
    let started = false;
    let settled = false;
    const fail = (tlsSock: BunSocket | undefined, error: unknown) => {
      if (settled) return;
      settled = true;
      tlsSock?.terminate();
      sock.terminate();
      reject(error);
    };
    const base = socketHandlers((_tlsSock, socket) => {
      socket.connection = connection;
    }, make);
    const handlers = {
      ...base,
      // Bun calls open at the upgrade; the connection carries on once the handshake is done.
      open() {},
      handshake(tlsSock: BunSocket, success: boolean, authorizationError: Error | null) {
        // A server without client certificates sees an authorizationError for the missing one: only success counts.
        if (!success) return fail(tlsSock, authorizationError ?? new Error("TLS handshake failed"));
        started = true;
        settled = true;
        base.open(tlsSock);
        resolve(tlsSock.data);
      },
      timeout() {},
      error(tlsSock: BunSocket, error: Error) {
        if (started) base.error(tlsSock, error);
        else fail(tlsSock, error);
      },
      close(tlsSock: BunSocket, error?: Error) {
        if (started) base.close(tlsSock, error);
        else fail(undefined, error ?? new Error("the peer closed the connection during the TLS handshake"));
      },
    };
    const tls = options.side === "server"
      ? { cert: pem.cert, key: pem.key, ...alpnWire(options.alpn), ...policy }
      : {
        serverName: options.servername,
        rejectUnauthorized: true,
        ...(pem.ca === undefined ? {} : { ca: pem.ca }),
        ...(pem.cert === undefined ? {} : { cert: pem.cert, key: pem.key }),
        ...alpnWire(options.alpn),
        ...policy,
      };
    let tlsSock: BunSocket;
    try {
      [, tlsSock] = (sock as Upgradable).upgradeTLS({ tls, socket: handlers });
    } catch (error) {
      fail(undefined, error);
      return;
    }
    // Until the handshake is done the connection holds the plaintext socket, and terminating
    // that one no longer closes the descriptor (the idle timeout found it): close the TLS one.
    plain.abort = () => tlsSock.terminate();
    // The connection paused the plaintext socket at the switch; the TLS socket reads through it.
    sock.resume();
  });
}
