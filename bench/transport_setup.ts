/** What the benchmark needs to serve over TLS or a Unix socket, shared by the table and the cost run. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { makeTestCertificates } from "../tools/test_certs.ts";
import type { Transport } from "./measure.ts";
import type { serverCommand, TransportSetup } from "./targets.ts";

/**
 * What `transport` needs, made once per run: throwaway certificates for TLS, a private folder
 * for Unix socket files; `cleanup` removes them.
 *
 * @param transport tcp, tls or unix.
 * @returns The setup for {@link serverCommand}, and its cleanup.
 */
export function transportSetup(transport: Transport): TransportSetup & { cleanup(): void } {
  if (transport === "tls") {
    const certs = makeTestCertificates();
    return { transport, certs, cleanup: () => rmSync(certs.dir, { recursive: true, force: true }) };
  }
  if (transport === "unix") {
    const dir = mkdtempSync(`${tmpdir()}/twine-bench-unix-`);
    return { transport, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }
  return { transport, cleanup: () => {} };
}
