import { describe, expect, test } from "vitest";
import {
  clientTlsSettings,
  DEFAULT_HANDSHAKE_TIMEOUT,
  handshakeFailureLog,
  handshakeTimedOut,
  handshakeTimeoutOf,
  peerOf,
  serverTlsSettings,
  type TlsAbilities,
} from "../adapters/shared/tls_files.ts";
import { ListenError, parseClientEndpoint, parseServerEndpoint, type TlsClientEndpoint, type TlsServerEndpoint } from "../src/mod.ts";
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

describe("a TLS policy in the runtime's terms", () => {
  const NODE: TlsAbilities = { name: "node:tls", ciphers: true, minVersion13: true };
  const DENO: TlsAbilities = { name: "deno native", ciphers: false, minVersion13: false };
  const ssl = (extra = "") => parseServerEndpoint(`ssl:8443:privateKey=k.pem${extra}`) as TlsServerEndpoint;

  test("is Mozilla's intermediate suites and TLS 1.2 or 1.3 unless told otherwise, on every runtime", () => {
    const intermediate = {
      ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
      minVersion: "TLSv1.2",
    };
    expect(serverTlsSettings(ssl(), {}, NODE)).toEqual(intermediate);
    expect(serverTlsSettings(ssl(), {}, DENO)).toEqual(intermediate);
  });

  test("takes the listen option where the endpoint says nothing, and the endpoint's own value where it does", () => {
    expect(serverTlsSettings(ssl(), { tls: { minVersion: "1.3", ciphers: ["AES128-SHA"] } }, NODE)).toEqual({ ciphers: "AES128-SHA", minVersion: "TLSv1.3" });
    expect(serverTlsSettings(ssl(":minVersion=1.2"), { tls: { minVersion: "1.3" } }, NODE).minVersion).toBe("TLSv1.2");
  });

  test("refuses in one line what the runtime cannot apply, naming it", () => {
    expect(() => serverTlsSettings(ssl(":minVersion=1.3"), {}, DENO)).toThrow(
      new ListenError("Cannot listen on ssl:127.0.0.1:8443: deno native cannot refuse TLS 1.2; use --adapter node", "ENOTSUP"),
    );
    expect(() => serverTlsSettings(ssl(), { tls: { ciphers: ["ECDHE-RSA-AES128-GCM-SHA256"] } }, { ...DENO, name: "deno node:net" })).toThrow(
      "Cannot listen on ssl:127.0.0.1:8443: deno node:net cannot choose TLS cipher suites (rustls offers Mozilla's intermediate ones and no way to narrow them)",
    );
    let error: { code?: string; message?: string } = {};
    try {
      clientTlsSettings(parseClientEndpoint("tls:\\:\\:1:443:minVersion=1.3") as TlsClientEndpoint, DENO);
    } catch (e) {
      error = e as typeof error;
    }
    expect({ code: error.code, message: error.message }).toEqual({
      code: "ENOTSUP",
      message: "Cannot connect to tls:[::1]:443: deno native cannot refuse TLS 1.2; use --adapter node",
    });
  });

  test("refuses a suite the runtime does not have, the same way on every runtime, before what it cannot apply", () => {
    for (const can of [NODE, DENO]) {
      expect(() => serverTlsSettings(ssl(":ciphers=ECDHE-RSA-AES128-GCM-SHA256;NO-SUCH-SUITE"), {}, can)).toThrow(
        new ListenError("Cannot listen on ssl:127.0.0.1:8443: this runtime's TLS has no cipher suite 'NO-SUCH-SUITE'", "EINVAL"),
      );
    }
  });

  test("checks a policy in an endpoint made in code, as in a string", () => {
    expect(() => serverTlsSettings({ ...ssl(), minVersion: "1.0" as "1.2" }, {}, NODE)).toThrow(
      new RangeError("Cannot listen on ssl:127.0.0.1:8443: bad minVersion '1.0' (expected 1.2 or 1.3)"),
    );
  });
});
