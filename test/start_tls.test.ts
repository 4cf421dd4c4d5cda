// startTLS() on real connections: a STARTTLS line protocol on every runtime x adapter pair,
// twine's own client and openssl s_client -starttls smtp against it.
import { once } from "node:events";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { collect, connect } from "./helpers/client.ts";
import { run, waitForOutput } from "./helpers/run.ts";
import { withServer } from "./helpers/with_server.ts";
import { type Pair, PAIRS, withFileAccess } from "../tools/runtimes.ts";
import { startServer, type ServerProcess } from "../tools/server_process.ts";
import { makeTestCertificates } from "../tools/test_certs.ts";
import { sClientEcho, sClientProbe } from "./helpers/s_client.ts";

const MiB = 1024 * 1024;
const certs = makeTestCertificates();
// Deno.startTls plays only the client's side: a Deno native server cannot upgrade.
const canServe = (pair: Pair) => !(pair.runtime === "deno" && pair.adapter === "native");
const SERVERS = PAIRS.filter(canServe);
// What twine's client saw: the plaintext answers in order, then getTlsInfo() once upgraded (Deno exposes no peer certificate).
const PLAIN = (pair: Pair) =>
  `plain: 220 twine ESMTP | PLAIN hello | 220 Ready to start TLS; tls: alpn=twine-test peer=${
    pair.runtime === "deno" && pair.adapter === "native" ? "not exposed" : "CN=localhost issuer=CN=twine-test-ca"
  }\n`;

const client = (pair: Pair, port: number, ...args: string[]) => [
  ...withFileAccess(pair).command,
  "test/fixtures/starttls_client.ts",
  "--adapter",
  pair.adapter,
  "--port",
  String(port),
  ...args,
];

const servers = new Map<string, ServerProcess>();

beforeAll(async () => {
  const started = await Promise.all(
    PAIRS.map((p) => startServer(withFileAccess(p), "test/fixtures/starttls_server.ts", ["--cert", certs.cert, "--key", certs.key])),
  );
  PAIRS.forEach((p, i) => servers.set(p.name, started[i]!));
});

afterAll(async () => {
  for (const server of servers.values()) expect((await server.stop()).code).toBe(0);
  rmSync(certs.dir, { recursive: true, force: true });
});

describe("startTLS with twine's client", () => {
  test.each(PAIRS)(
    "$name client upgrades after pipelined plaintext and echoes 1 MiB exactly through every server that can upgrade",
    async (pair) => {
      const payload = randomBytes(MiB);
      const results = await Promise.all(SERVERS.map((s) => run(client(pair, servers.get(s.name)!.port, "--ca", certs.ca), payload)));
      results.forEach((r, i) => {
        // The plaintext line sent in the same write as STARTTLS was answered, and the answer to STARTTLS came in plaintext.
        expect({ server: SERVERS[i]!.name, code: r.code, stderr: r.stderr }).toEqual({ server: SERVERS[i]!.name, code: 0, stderr: PLAIN(pair) });
        expect(r.stdout.length).toBe(payload.length);
        expect(r.stdout.equals(payload)).toBe(true);
      });
    },
  );

  test.each(PAIRS)("$name client half-closes after the upgrade and the server finishes echoing 1 MiB before closing", async (pair) => {
    // A deno native client is checked against the bun native server; every other pair against its own runtime's server.
    const server = servers.get((canServe(pair) ? pair : PAIRS[0]!).name)!;
    const payload = randomBytes(MiB);
    const r = await run(client(pair, server.port, "--ca", certs.ca, "--half-close"), payload);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: PLAIN(pair) });
    expect(r.stdout.equals(payload)).toBe(true);
  });

  test.each(PAIRS)("$name client trusts a directory of PEM files given as trustRoots, as Twisted's", async (pair) => {
    const roots = `${certs.dir}/roots`;
    mkdirSync(roots, { recursive: true });
    copyFileSync(certs.ca, `${roots}/twine-test-ca.pem`);
    const server = servers.get((canServe(pair) ? pair : PAIRS[0]!).name)!;
    const payload = randomBytes(1000);
    const r = await run(client(pair, server.port, "--ca", roots), payload);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: PLAIN(pair) });
    expect(r.stdout.equals(payload)).toBe(true);
  });

  test.each(SERVERS)("the $name server's second startTLS, and one after the close, reject with one line each", async (pair) => {
    const server = servers.get(pair.name)!;
    const r = await run(client(PAIRS.find((p) => p.runtime === "node")!, server.port, "--ca", certs.ca), randomBytes(10));
    expect(r.code).toBe(0);
    await waitForOutput(server.output, /after close: /);
    const lines = server.output().split("\n");
    // getTlsInfo() on the server's side once upgraded: the ALPN protocol both offered.
    expect(lines).toContain("tls started alpn=twine-test");
    expect(lines).toContainEqual(expect.stringMatching(/^again: Cannot start TLS on the connection with 127\.0\.0\.1:\d+: TLS was already started$/));
    expect(lines).toContainEqual(expect.stringMatching(/^after close: Cannot start TLS on the connection with 127\.0\.0\.1:\d+: the connection is closed$/));
  });

  test("a deno native server refuses startTLS with one line naming the runtime and the node adapter, and closes", async () => {
    const server = servers.get("deno native")!;
    const r = await run(client(PAIRS.find((p) => p.runtime === "node")!, server.port, "--ca", certs.ca), randomBytes(100));
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    const refusal = "deno native cannot upgrade an accepted connection (Deno.startTls is client-side only); listen with --adapter node";
    // connectionLost runs first; the rejection's handler logs after it.
    await waitForOutput(server.output, /starttls failed: /);
    const lines = server.output().split("\n");
    expect(lines.filter((l) => l.startsWith("starttls failed: "))).toEqual([
      expect.stringMatching(new RegExp(`^starttls failed: Cannot start TLS on the connection with 127\\.0\\.0\\.1:\\d+: ${refusal.replace(/[().]/g, "\\$&")}$`)),
    ]);
    expect(lines.filter((l) => l.startsWith("lost: "))).toHaveLength(1);
  });
});

describe("startTLS with openssl s_client -starttls smtp", () => {
  test.each(SERVERS)("s_client upgrades and gets 1 MiB echoed back from the $name server", async (pair) => {
    const payload = randomBytes(MiB);
    const port = servers.get(pair.name)!.port;
    expect((await sClientEcho(["-starttls", "smtp", "-connect", `127.0.0.1:${port}`, "-CAfile", certs.ca], payload)).equals(payload)).toBe(true);
  });
});

// The same TLS policy as on ssl: and tls: endpoints: Mozilla's intermediate unless told otherwise.
describe("startTLS's TLS policy", () => {
  const smtp = (port: number, ...args: string[]) => sClientProbe(port, ["-starttls", "smtp", ...args]);
  const GCM = ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"];

  test.each(SERVERS)("the $name server upgrades with TLS 1.3 or TLS 1.2 ECDHE and AEAD suites only", async (pair) => {
    const port = servers.get(pair.name)!.port;
    expect({
      cbc: await smtp(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"),
      tls11: await smtp(port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"),
      gcm: await smtp(port, ...GCM),
      tls13: await smtp(port, "-tls1_3"),
    }).toEqual({ cbc: "refused", tls11: "refused", gcm: "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256", tls13: "TLSv1.3 TLS_AES_256_GCM_SHA384" });
  });

  test.each(SERVERS)("the $name server's listen option tls sets the policy of its upgrades", async (pair) => {
    const args = ["--cert", certs.cert, "--key", certs.key, "--tls", JSON.stringify({ minVersion: "1.3" })];
    await withServer(startServer(withFileAccess(pair), "test/fixtures/starttls_server.ts", args), async (server) => {
      expect({ tls12: await smtp(server.port, ...GCM), tls13: await smtp(server.port, "-tls1_3") }).toEqual({
        tls12: "refused",
        tls13: "TLSv1.3 TLS_AES_256_GCM_SHA384",
      });
    });
  });

  test.each(PAIRS)("the $name client's connect option tls reaches its upgrade, refused in one line where the runtime cannot apply it", async (pair) => {
    const server = servers.get("node")!;
    const r = await run(client(pair, server.port, "--ca", certs.ca, "--tls", JSON.stringify({ minVersion: "1.3" })), randomBytes(100));
    if (pair.runtime === "deno" && pair.adapter === "native") {
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 1,
        stderr: expect.stringMatching(/^starttls-client: (0 of 100 bytes back: )?Cannot start TLS on the connection with 127\.0\.0\.1:\d+: deno native cannot refuse TLS 1\.2; use --adapter node\n$/),
      });
    } else {
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: PLAIN(pair) });
    }
  });
});

describe.each(SERVERS)("$name startTLS server", (pair) => {
  test("a client that answers STARTTLS but never starts the handshake is closed by the idle timeout", async () => {
    const started = startServer(withFileAccess(pair), "test/fixtures/starttls_server.ts", [
      "--cert",
      certs.cert,
      "--key",
      certs.key,
      "--idle-timeout",
      "0.5",
    ]);
    await withServer(started, async (server) => {
      const sock = await connect(server.port);
      sock.on("error", () => {});
      const seen = collect(sock, 10_000);
      sock.write("STARTTLS\r\n");
      const begun = Date.now();
      const r = await seen;
      // Only the plaintext answers came, then the close; far below the 10 s a stuck handshake would take.
      expect(r.received.toString()).toBe("220 twine ESMTP\r\n220 Ready to start TLS\r\n");
      expect(r.error?.message ?? "").not.toMatch(/still open/);
      expect(Date.now() - begun).toBeLessThan(9_000);
      // connectionLost runs first; the rejection's handler logs after it.
      await waitForOutput(server.output, /starttls failed: /);
      expect(server.output()).toMatch(/^starttls failed: Cannot start TLS on the connection with 127\.0\.0\.1:\d+: \S.*$/m);
      expect(server.output()).toMatch(/^lost: Connection idle for 0\.5 s$/m);
    });
  });

  test("a certificate file that does not exist fails the upgrade with one line naming the file, and closes", async () => {
    const missing = `${certs.dir}/missing.pem`;
    await withServer(startServer(withFileAccess(pair), "test/fixtures/starttls_server.ts", ["--cert", missing, "--key", certs.key]), async (server) => {
      const r = await run(client(PAIRS.find((p) => p.runtime === "node")!, server.port, "--ca", certs.ca), randomBytes(10));
      expect(r.code).toBe(1);
      await waitForOutput(server.output, /starttls failed: /);
      expect(server.output()).toMatch(
        new RegExp(`^starttls failed: Cannot start TLS on the connection with 127\\.0\\.0\\.1:\\d+: cannot read certificate file '${missing}': no such file$`, "m"),
      );
    });
  });
});

describe.each(PAIRS)("$name startTLS bad input", (pair) => {
  test("a server that answers STARTTLS but never handshakes is given up by the client's idle timeout, in one line", async () => {
    // A server no one here wrote: it answers in plaintext, then says nothing.
    const silent = net.createServer((sock) => {
      sock.on("error", () => {});
      sock.write("220 twine ESMTP\r\n");
      sock.once("data", () => sock.write("PLAIN hello\r\n220 Ready to start TLS\r\n"));
    });
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    try {
      const began = Date.now();
      const r = await run(client(pair, (silent.address() as net.AddressInfo).port, "--ca", certs.ca, "--idle-timeout", "0.5"), randomBytes(100));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^starttls-client: 0 of 100 bytes back: Connection idle for 0\.5 s\n$/);
      expect(Date.now() - began).toBeLessThan(9_000);
    } finally {
      silent.close();
    }
  });

  test("a handshake the client rejects (a CA it does not trust) fails with one line on both ends and closes", async () => {
    // A deno native client is checked against the bun native server; every other pair against its own runtime's server.
    const serverPair = canServe(pair) ? pair : PAIRS[0]!;
    const server = servers.get(serverPair.name)!;
    const failedBefore = server.output().split("\n").filter((l) => l.startsWith("starttls failed: ")).length;
    // No --ca: the system's roots, which do not hold the test CA.
    const r = await run(client(pair, server.port), randomBytes(100));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^starttls-client: (0 of 100 bytes back: )?Cannot start TLS on the connection with 127\.0\.0\.1:\d+: the server's certificate is not trusted\n$/,
    );
    // The server sees the handshake fail (an alert or the close), as one line: wait for one more such line than before.
    await waitForOutput(
      server.output,
      new RegExp(`(starttls failed: .*\\n[^]*){${failedBefore + 1}}`),
    );
    const failed = server.output().split("\n").filter((l) => l.startsWith("starttls failed: "));
    expect(failed.at(-1)).toMatch(/^starttls failed: Cannot start TLS on the connection with 127\.0\.0\.1:\d+: \S.*$/);
  });
});
