import { describe, expect, test } from "vitest";
import { DEFAULT_HANDSHAKE_TIMEOUT, handshakeTimedOut, handshakeTimeoutOf } from "../adapters/shared/tls_files.ts";

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
