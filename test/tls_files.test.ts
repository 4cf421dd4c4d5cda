import { describe, expect, test } from "vitest";
import { DEFAULT_HANDSHAKE_TIMEOUT, handshakeFailureLog, handshakeTimedOut, handshakeTimeoutOf, peerOf } from "../adapters/shared/tls_files.ts";
import type { LogEvent } from "../src/mod.ts";

describe("the bound on a TLS listener's handshakes, the same on every adapter", () => {
  test("is 120 s, as Node's, when neither a handshake nor an idle timeout is set", () => {
    expect(DEFAULT_HANDSHAKE_TIMEOUT).toBe(120_000);
    expect(handshakeTimeoutOf({})).toBe(120_000);
  });

  test("is the idle timeout when one is set, and handshakeTimeout above both", () => {
    expect(handshakeTimeoutOf({ idleTimeout: 5_000 })).toBe(5_000);
    expect(handshakeTimeoutOf({ idleTimeout: 0 })).toBe(120_000);
    expect(handshakeTimeoutOf({ idleTimeout: 5_000, handshakeTimeout: 300 })).toBe(300);
  });

  test("a handshake given up on is reported in seconds, with the runtime's report as cause", () => {
    const cause = new Error("TLS handshake timeout");
    const error = handshakeTimedOut(500, cause);
    expect({ message: error.message, code: (error as { code?: string }).code, cause: error.cause }).toEqual({
      message: "no handshake within 0.5 s",
      code: "ETIMEDOUT",
      cause,
    });
  });
});

describe("a failed handshake on a TLS listener is logged", () => {
  test("with the peer's address, twine's words and code, the runtime's text gone", () => {
    const lines: [string, LogEvent | undefined][] = [];
    let counted = 0;
    const log = handshakeFailureLog({ type: "ssl", host: "127.0.0.1", port: 8443, privateKey: "k", certKey: "c" }, (line, event) => lines.push([line, event]), () => counted++);
    const http = Object.assign(new Error("40F38D28117F0000:error:0A00009C:SSL routines:tls_validate_record_header:http request:../deps/openssl/openssl/ssl/record/methods/tlsany_meth.c:68:"), { code: "ERR_SSL_HTTP_REQUEST" });
    log.failed(http, "127.0.0.1:50312");
    log.stop();
    expect(counted).toBe(1);
    expect(lines).toEqual([[
      "TLS handshake failed on ssl:127.0.0.1:8443 from 127.0.0.1:50312: the client sent an HTTP request, not TLS (1 in the last second, 1 in all)",
      {
        event: "tls_handshake_failed",
        level: "warn",
        endpoint: "ssl:127.0.0.1:8443",
        peer: "127.0.0.1:50312",
        fields: { error: "the client sent an HTTP request, not TLS", code: "TLS_NOT_TLS", count: 1, total: 1 },
      },
    ]]);
  });

  test("without a peer the runtime no longer knows, and with the runtime's first line for an error of no known kind", () => {
    const lines: string[] = [];
    const log = handshakeFailureLog({ type: "ssl", host: "::1", port: 8443, privateKey: "k", certKey: "c" }, (line) => lines.push(line));
    log.failed(new Error("something new\nand more"));
    log.stop();
    expect(lines).toEqual(["TLS handshake failed on ssl:[::1]:8443: something new (1 in the last second, 1 in all)"]);
  });

  test("peers are written as in every other line, IPv6 in brackets", () => {
    expect([peerOf("::1", 5), peerOf("127.0.0.1", 5), peerOf(undefined, 5), peerOf("", 5), peerOf("::1", undefined)]).toEqual([
      "[::1]:5",
      "127.0.0.1:5",
      undefined,
      undefined,
      undefined,
    ]);
  });
});
