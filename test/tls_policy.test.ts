import { describe, expect, test } from "vitest";
import { checkTlsPolicy, INTERMEDIATE_CIPHERS, type TlsPolicy, withTlsPolicy } from "../src/mod.ts";

describe("the TLS policy", () => {
  test("by default is Mozilla's intermediate configuration's six TLS 1.2 suites: ECDHE key exchange, AEAD ciphers", () => {
    expect(INTERMEDIATE_CIPHERS).toEqual([
      "ECDHE-ECDSA-AES128-GCM-SHA256",
      "ECDHE-RSA-AES128-GCM-SHA256",
      "ECDHE-ECDSA-AES256-GCM-SHA384",
      "ECDHE-RSA-AES256-GCM-SHA384",
      "ECDHE-ECDSA-CHACHA20-POLY1305",
      "ECDHE-RSA-CHACHA20-POLY1305",
    ]);
    expect(Object.isFrozen(INTERMEDIATE_CIPHERS)).toBe(true);
  });

  test("what an endpoint or startTLS() says wins over the listen or connect option, field by field", () => {
    const option: TlsPolicy = { ciphers: ["AES128-SHA"], minVersion: "1.3" };
    const mine: TlsPolicy & { type: string } = { type: "x", minVersion: "1.2" };
    expect(withTlsPolicy(mine, option)).toEqual({ type: "x", minVersion: "1.2", ciphers: ["AES128-SHA"] });
    const bare: TlsPolicy & { type: string } = { type: "x" };
    expect(withTlsPolicy(bare, option)).toEqual({ type: "x", ...option });
    const own = { type: "x", ciphers: ["ECDHE-RSA-AES128-GCM-SHA256"], minVersion: "1.2" as const };
    expect(withTlsPolicy(own, option)).toBe(own);
    expect(withTlsPolicy(own, undefined)).toBe(own);
    expect(withTlsPolicy(bare, {})).toBe(bare);
  });

  test.each([
    [{ ciphers: [] }, RangeError, "Cannot listen with tls: ciphers is empty (leave it out for Mozilla's intermediate suites)"],
    [{ ciphers: ["TLS_AES_128_GCM_SHA256"] }, RangeError, "Cannot listen with tls: cipher 'TLS_AES_128_GCM_SHA256' is a TLS 1.3 suite, which twine does not choose (every runtime offers the three of TLS 1.3)"],
    [{ ciphers: ["ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA"] }, RangeError, "Cannot listen with tls: bad cipher 'ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA' (expected the OpenSSL name of a TLS 1.2 suite, such as ECDHE-RSA-AES128-GCM-SHA256)"],
    [{ ciphers: "AES128-SHA" }, TypeError, "Cannot listen with tls: ciphers must be an array of cipher suite names"],
    [{ minVersion: "1.1" }, RangeError, "Cannot listen with tls: bad minVersion '1.1' (expected 1.2 or 1.3)"],
    [{ minVersion: 1.3 }, RangeError, "Cannot listen with tls: bad minVersion '1.3' (expected 1.2 or 1.3)"],
    ["1.3", TypeError, "Cannot listen with tls: the TLS policy must be an object"],
  ])("%o is refused with one line", (policy, kind, message) => {
    expect(() => checkTlsPolicy(policy as TlsPolicy, "Cannot listen with tls")).toThrow(new kind(message));
  });

  test("a good policy, or none, passes", () => {
    expect(() => checkTlsPolicy(undefined, "x")).not.toThrow();
    expect(() => checkTlsPolicy({ ciphers: ["ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA"], minVersion: "1.3" }, "x")).not.toThrow();
  });
});
