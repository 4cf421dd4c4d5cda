/**
 * The `NodeSocket` of a `node:tls` socket, shared by the TLS listener, the TLS client and
 * `startTLS()`: on Deno it must pause reading differently; and what `node:tls` applies of a TLS policy.
 *
 * @module
 */
import type tls from "node:tls";
import { NodeSocket } from "./socket.ts";
import type { TlsAbilities } from "../shared/tls_files.ts";

const onDeno = (globalThis as { Deno?: unknown }).Deno !== undefined;

/**
 * What `node:tls` applies of a TLS policy. Node's and Bun's take a cipher list and a lowest version;
 * Deno's is rustls underneath: it checks a cipher list and then ignores it (2.9.6), but honours minVersion.
 */
export const NODE_TLS_ABILITIES: TlsAbilities = { name: onDeno ? "deno node:net" : "node:tls", ciphers: !onDeno, minVersion13: true };

/** The slice of Deno's `TLSWrap` (a node:tls socket's `_handle`) used to pause reading. */
interface DenoTlsWrap {
  readStop(): number;
  readStart(): number;
  /** The TCP handle under the TLS layer, whose reads `TLSWrap.readStop` leaves running. */
  _nativeTcpHandle?: { readStop(): number; readStart(): number } | null;
}

/**
 * Deno's node:tls does not pause a TLSSocket: `pause()` goes on reading the TCP socket into
 * memory and `resume()` never delivers again (Deno 2.9.6), as its TLSWrap's readStop only holds
 * back the cleartext (deno ext/node/ops/tls_wrap.rs says so). Stopping the TCP handle under it
 * too gives the kernel's backpressure, and starting both resumes.
 */
class DenoTlsSocket extends NodeSocket {
  readonly #sock: tls.TLSSocket;

  constructor(sock: tls.TLSSocket) {
    super(sock);
    this.#sock = sock;
  }

  protected override stopReading(): void {
    const wrap = this.#wrap();
    // Without the handle's expected shape, reading goes on rather than never resuming.
    if (wrap === undefined) return;
    wrap._nativeTcpHandle!.readStop();
    wrap.readStop();
  }

  protected override startReading(): void {
    const wrap = this.#wrap();
    if (wrap === undefined) return;
    wrap._nativeTcpHandle!.readStart();
    wrap.readStart();
  }

  #wrap(): DenoTlsWrap | undefined {
    if (this.#sock.destroyed) return undefined;
    const wrap = (this.#sock as unknown as { _handle?: DenoTlsWrap | null })._handle;
    const native = wrap?._nativeTcpHandle;
    if (typeof wrap?.readStop !== "function" || typeof native?.readStop !== "function" || typeof native.readStart !== "function") return undefined;
    return wrap;
  }
}

/** The `NodeSocket` for a `node:tls` socket on this runtime. */
export const TlsNodeSocket: typeof NodeSocket = onDeno ? DenoTlsSocket : NodeSocket;

