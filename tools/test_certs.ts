import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

/** Paths of test-only certificates made by {@link makeTestCertificates}. */
export interface TestCertificates {
  readonly dir: string;
  /** The test CA's certificate: the clients' trustRoots. */
  readonly ca: string;
  /** The server's certificate for localhost and 127.0.0.1, signed by the CA. */
  readonly cert: string;
  readonly key: string;
  /** The same server's certificate, expired a day ago. */
  readonly expired: string;
  /** A key that matches none of the certificates. */
  readonly otherKey: string;
  /**
   * A self-signed certificate for localhost and 127.0.0.1 that is its own CA (`CA:TRUE`, as
   * `openssl req -x509` makes by default), and its key: what rustls refuses as a server's own.
   */
  readonly selfSigned: string;
  readonly selfSignedKey: string;
  /**
   * The server's certificate with an RSA 2048 key, signed by the same CA, for probing the suites
   * an EC key cannot agree on (`AES128-SHA`, `ECDHE-RSA-*`); `keyEncipherment` allows RSA key exchange.
   */
  readonly rsaCert: string;
  readonly rsaKey: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
}

/**
 * Makes a throwaway CA and server certificates with `openssl`, in a new temporary
 * directory: nothing secret is kept in the repository, and nothing outlives the test run.
 *
 * @returns Where the PEM files are.
 */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(`${tmpdir()}/twine-certs-`);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl(dir, "req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=twine-test-ca");
  openssl(dir, "req", ...ec, "-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=localhost");
  writeFileSync(
    `${dir}/ext.cnf`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  const sign = (out: string, days: string) =>
    openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", out, "-days", days, "-extfile", "ext.cnf");
  sign("cert.pem", "2");
  // A negative validity: notAfter a day before notBefore, so it is expired from the start.
  sign("expired.pem", "-1");
  openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other.key");
  openssl(dir, "req", "-x509", ...ec, "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE");
  openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.csr", "-subj", "/CN=localhost");
  writeFileSync(
    `${dir}/rsa.cnf`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  openssl(dir, "x509", "-req", "-in", "rsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "rsa.pem", "-days", "2", "-extfile", "rsa.cnf");
  return {
    dir,
    ca: `${dir}/ca.pem`,
    cert: `${dir}/cert.pem`,
    key: `${dir}/key.pem`,
    expired: `${dir}/expired.pem`,
    otherKey: `${dir}/other.key`,
    selfSigned: `${dir}/self.pem`,
    selfSignedKey: `${dir}/self.key`,
    rsaCert: `${dir}/rsa.pem`,
    rsaKey: `${dir}/rsa.key`,
  };
}
