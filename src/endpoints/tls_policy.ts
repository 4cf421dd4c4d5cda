/**
 * The TLS policy every runtime and adapter applies unless told otherwise: Mozilla's
 * "intermediate" configuration (TLS 1.3, and TLS 1.2 with ECDHE key exchange and AEAD
 * ciphers only). An endpoint's `ciphers=`/`minVersion=`, a listen or connect option `tls`,
 * or `startTLS()`'s options may narrow or change it where the runtime allows; the adapters
 * refuse in one line where it does not.
 *
 * @example
 * ```ts
 * import { withTlsPolicy } from "./tls_policy.ts";
 * withTlsPolicy({ minVersion: "1.3" as const }, { ciphers: ["ECDHE-RSA-AES128-GCM-SHA256"], minVersion: "1.2" });
 * // { minVersion: "1.3", ciphers: ["ECDHE-RSA-AES128-GCM-SHA256"] }: what the endpoint says wins
 * ```
 *
 * @module
 */

/**
 * The TLS 1.2 cipher suites of Mozilla's "intermediate" configuration (Server Side TLS
 * guidelines 6.0, 2026-04-06), in OpenSSL's names: ECDHE key exchange, AES-GCM or ChaCha20.
 * TLS 1.3 keeps each runtime's three default suites, which are the ones the guideline names.
 */
export const INTERMEDIATE_CIPHERS: readonly string[] = Object.freeze([
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
]);

/** A TLS version twine can require as the lowest: TLS 1.0 and 1.1 are never accepted. */
export type TlsMinVersion = "1.2" | "1.3";

/** Which TLS versions and suites to allow: what an endpoint, a listen or connect option, or `startTLS()` may say. */
export interface TlsPolicy {
  /**
   * OpenSSL names of the TLS 1.2 cipher suites to allow (`ciphers=A;B` in an endpoint string).
   * TLS 1.3's suites cannot be chosen: Bun and Deno offer no way to. Not on Deno (rustls takes
   * no list), where giving one is refused.
   * @default INTERMEDIATE_CIPHERS
   */
  readonly ciphers?: readonly string[];
  /**
   * The lowest TLS version to accept (`minVersion=1.3`). Not `"1.3"` on Deno native, which
   * cannot refuse TLS 1.2.
   * @default "1.2"
   */
  readonly minVersion?: TlsMinVersion;
}

/**
 * Checks a TLS policy given in code or an endpoint string.
 *
 * @param policy The policy, or `undefined` for none.
 * @param where How the one-line error begins: `Cannot listen with tls`, `Cannot parse server endpoint 'ssl:…'`;
 *   without it the error is only what is wrong.
 * @throws {TypeError} If it is not an object, `ciphers` not an array of strings or `minVersion` not a string.
 * @throws {RangeError} For an empty cipher list, a name that is not an OpenSSL suite name or names a TLS 1.3
 *   suite, or a `minVersion` other than `"1.2"` and `"1.3"`.
 */
export function checkTlsPolicy(policy: TlsPolicy | undefined, where?: string): void {
  if (policy === undefined) return;
  const at = where === undefined ? "" : `${where}: `;
  if (policy === null || typeof policy !== "object") throw new TypeError(`${at}the TLS policy must be an object`);
  const { ciphers, minVersion } = policy;
  if (ciphers !== undefined) {
    if (!Array.isArray(ciphers) || ciphers.some((c) => typeof c !== "string")) {
      throw new TypeError(`${at}ciphers must be an array of cipher suite names`);
    }
    if (ciphers.length === 0) throw new RangeError(`${at}ciphers is empty (leave it out for Mozilla's intermediate suites)`);
    for (const name of ciphers) {
      if (/^TLS_/i.test(name)) {
        throw new RangeError(`${at}cipher '${name}' is a TLS 1.3 suite, which twine does not choose (every runtime offers the three of TLS 1.3)`);
      }
      // A name, not OpenSSL's list syntax (HIGH:!aNULL), which the runtimes read differently.
      if (!/^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$/.test(name)) {
        throw new RangeError(`${at}bad cipher '${name}' (expected the OpenSSL name of a TLS 1.2 suite, such as ECDHE-RSA-AES128-GCM-SHA256)`);
      }
    }
  }
  if (minVersion !== undefined && minVersion !== "1.2" && minVersion !== "1.3") {
    throw new RangeError(`${at}bad minVersion '${String(minVersion)}' (expected 1.2 or 1.3)`);
  }
}

/**
 * Fills in what `target` leaves out of its TLS policy from a wider one: an endpoint's or
 * `startTLS()`'s own `ciphers` and `minVersion` win over a listen or connect option's.
 *
 * @param target An endpoint, or `startTLS()`'s options.
 * @param policy The listen or connect option `tls`, if given.
 * @returns `target` itself if there is nothing to fill in, else a copy with the policy's values.
 */
export function withTlsPolicy<T extends TlsPolicy>(target: T, policy: TlsPolicy | undefined): T {
  const ciphers = target.ciphers ?? policy?.ciphers;
  const minVersion = target.minVersion ?? policy?.minVersion;
  if (ciphers === target.ciphers && minVersion === target.minVersion) return target;
  return { ...target, ...(ciphers === undefined ? {} : { ciphers }), ...(minVersion === undefined ? {} : { minVersion }) };
}
