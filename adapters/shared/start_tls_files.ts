/**
 * Reads the PEM files that `startTLS()` names and turns its TLS policy into the runtime's
 * terms, with the same one-line reasons as the TLS endpoints (`tls_files.ts`), for every adapter.
 *
 * @module
 */
import type { StartTlsOptions } from "../../src/transport/start_tls.ts";
import { readClientPem, readServerPem, type TlsAbilities, type TlsSettings, tlsSettings } from "./tls_files.ts";

/** The PEM text of what `startTLS()` names. */
export interface StartTlsPem {
  cert?: string;
  key?: string;
  ca?: string;
}

/**
 * Reads and checks the files of a `startTLS()` call.
 *
 * @param options The server's certificate and key, or the client's trust roots and certificate.
 * @returns The PEM text.
 * @throws {Error} One line naming the file and what is wrong with it.
 */
export function readStartTlsPem(options: StartTlsOptions): StartTlsPem {
  try {
    if (options.side === "server") {
      return readServerPem({ type: "ssl", host: "", port: 0, ...options });
    }
    return readClientPem({ type: "tls", host: "", port: 0, timeout: 0, ...options });
  } catch (error) {
    // Drop the endpoint's "Cannot listen on …: " / "Cannot connect to …: ": startTLS names the connection.
    const message = (error as Error).message.replace(/^Cannot (listen on|connect to) [^ ]*: /, "");
    throw new Error(message, { cause: error });
  }
}

/**
 * `startTLS()`'s TLS settings: its own policy, else the connection's `tls` option (the
 * connection merged them), else Mozilla's intermediate.
 *
 * @param options The call's options.
 * @param can What this runtime and adapter can apply.
 * @returns The cipher list and lowest version to pass on.
 * @throws {Error} One line saying what this runtime cannot do (the connection names itself).
 */
export function startTlsSettings(options: StartTlsOptions, can: TlsAbilities): TlsSettings {
  return tlsSettings(options, can, (text) => new Error(text));
}
