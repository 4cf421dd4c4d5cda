import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { collect, connect, echo } from "./helpers/client.ts";
import { echoSuite } from "./helpers/echo_suite.ts";
import { run, waitForOutput } from "./helpers/run.ts";
import { withServer } from "./helpers/with_server.ts";
import { PAIRS, withFileAccess } from "../tools/runtimes.ts";
import { openFds, startServer, type ServerProcess } from "../tools/server_process.ts";
import { makeTestCertificates } from "../tools/test_certs.ts";
import { sClientEcho, sClientProbe } from "./helpers/s_client.ts";
import { sServer } from "./helpers/s_server.ts";

const MiB = 1024 * 1024;
const DENO_STALLED_HANDSHAKE =
  "Deno 2.9.6 keeps the TCP connection of a TlsConn closed mid-handshake open until the peer sends, closes or finishes the handshake";
const certs = makeTestCertificates();
const ca = readFileSync(certs.ca, "utf8");
const ssl = (cert = certs.cert, key = certs.key) => `ssl:0:privateKey=${key}:certKey=${cert}`;
const tlsPort = (server: ServerProcess) => Number(/ssl:127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
const tlsServer = (pair: (typeof PAIRS)[number], ...args: string[]) =>
  startServer(withFileAccess(pair), "bin/echo.ts", ["--listen", ssl(), ...args]);
const client = (pair: (typeof PAIRS)[number], ...args: string[]) => [
  ...withFileAccess(pair).command,
  "bin/echo-client.ts",
  "--adapter",
  pair.adapter,
  ...args,
];

afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

/** Resolves true once `condition` holds, polling every 50 ms, or false after `ms`. */
async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Waits for `promise`, at most `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The listener's accept queue and the server side's established connections, as the kernel sees them (`ss`, Linux). */
function kernelView(port: number): { queued: number; established: number } {
  const listening = execFileSync("ss", ["-tlnH", `( sport = :${port} )`], { encoding: "utf8" }).trim().split(/\s+/);
  const established = execFileSync("ss", ["-tanH", "state", "established", `( sport = :${port} )`], { encoding: "utf8" }).trim();
  return { queued: Number(listening[1] ?? 0), established: established === "" ? 0 : established.split("\n").length };
}

/** Opens `n` raw TCP connections to `port` and waits until the server has accepted every one. */
async function acceptedPeers(port: number, n: number): Promise<net.Socket[]> {
  const socks = await Promise.all(Array.from({ length: n }, () =>
    new Promise<net.Socket>((resolve, reject) => {
      const sock = net.connect(port, "127.0.0.1", () => resolve(sock));
      sock.once("error", reject);
    })
  ));
  for (const sock of socks) sock.on("error", () => {});
  // A peer gone before the server accepts it proves nothing about what the server does with an accepted one.
  const ok = await until(() => {
    const view = kernelView(port);
    return view.queued === 0 && view.established >= n;
  }, 5_000);
  expect({ ok, ...kernelView(port) }).toMatchObject({ ok: true });
  return socks;
}

// The first bytes of a ClientHello record, announcing more than is sent.
const HALF_CLIENT_HELLO = Buffer.from("160301020001000200030300000000000000000000000000000000000000000000000000000000", "hex");
const hasProcFds = existsSync("/proc/self/fd");

// trustRoots as Twisted reads it: a directory whose *.pem files are the CAs. Beside the CA, files
// that hold no certificate (a key, text, a file of another extension) must be passed over.
const roots = `${certs.dir}/roots`;
const noRoots = `${certs.dir}/no-roots`;
for (const dir of [roots, noRoots]) {
  mkdirSync(dir);
  copyFileSync(certs.key, `${dir}/key.pem`);
  writeFileSync(`${dir}/README.txt`, "not a certificate\n");
}
copyFileSync(certs.ca, `${roots}/twine-test-ca.PEM`);
copyFileSync(certs.ca, `${noRoots}/twine-test-ca.crt`);

describe.each(PAIRS)("$name over TLS", (pair) => {
  echoSuite(
    () => tlsServer(pair, "--grace", "2"),
    ({ code, output }) => {
      expect(output).toMatch(/Stopped on SIGTERM: served \d+ connections?, echoed \d+ bytes?/);
      expect(code).toBe(0);
    },
    (server) => ({ tlsPort: tlsPort(server), ca }),
  );
});

describe("each runtime's client against each runtime's server over TLS", () => {
  const servers = new Map<string, ServerProcess>();

  beforeAll(async () => {
    for (const [name, server] of await Promise.all(PAIRS.map(async (p) => [p.name, await tlsServer(p)] as const))) {
      servers.set(name, server);
    }
  });

  afterAll(async () => {
    for (const server of servers.values()) expect((await server.stop()).code).toBe(0);
  });

  test.each(PAIRS)("$name client echoes 1 MiB exactly through every server, checking its certificate", async (pair) => {
    const payload = randomBytes(MiB);
    const results = await Promise.all(
      PAIRS.map((s) =>
        run(client(pair, "--connect", `tls:host=127.0.0.1:port=${tlsPort(servers.get(s.name)!)}:trustRoots=${certs.ca}`), payload)
      ),
    );
    results.forEach((r, i) => {
      expect({ server: PAIRS[i]!.name, code: r.code, stderr: r.stderr }).toEqual({ server: PAIRS[i]!.name, code: 0, stderr: "" });
      expect(r.stdout.equals(payload)).toBe(true);
    });
  });

  test.each(PAIRS)("openssl s_client echoes 1 MiB through the $name server", async (pair) => {
    const payload = randomBytes(MiB);
    const port = tlsPort(servers.get(pair.name)!);
    expect((await sClientEcho(["-connect", `127.0.0.1:${port}`, "-CAfile", certs.ca], payload)).equals(payload)).toBe(true);
  });
});

describe.each(PAIRS)("$name TLS bad input", (pair) => {
  const echoCli = (...args: string[]) => [...withFileAccess(pair).command, "bin/echo.ts", "--adapter", pair.adapter, ...args];

  test("a certificate path that does not exist is one line naming the file, exit 1", async () => {
    const r = await run(echoCli("--listen", ssl(`${certs.dir}/missing.pem`)));
    expect(r.stderr).toBe(`twine-echo: Cannot listen on ssl:127.0.0.1:0: cannot read certificate file '${certs.dir}/missing.pem': no such file\n`);
    expect(r.code).toBe(1);
  });

  test("a certificate and key that do not match are one line naming both, exit 1", async () => {
    const r = await run(echoCli("--listen", ssl(certs.cert, certs.otherKey)));
    expect(r.stderr).toBe(
      `twine-echo: Cannot listen on ssl:127.0.0.1:0: certificate '${certs.cert}' does not match private key '${certs.otherKey}'\n`,
    );
    expect(r.code).toBe(1);
  });

  test("the client rejects an expired certificate, and one it does not trust, with one line and a code", async () => {
    const node = PAIRS.find((p) => p.runtime === "node")!;
    await withServer(startServer(node, "bin/echo.ts", ["--listen", ssl(certs.expired)]), async (server) => {
      const r = await run(client(pair, "--connect", `tls:host=127.0.0.1:port=${tlsPort(server)}:trustRoots=${certs.ca}`, "--message", "x"));
      expect(r.stderr).toBe(`twine-echo-client: Cannot connect to tls:127.0.0.1:${tlsPort(server)}: the server's certificate has expired\n`);
      expect(r.code).toBe(1);
    });
    await withServer(startServer(node, "bin/echo.ts", ["--listen", ssl()]), async (server) => {
      const r = await run(client(pair, "--connect", `tls:host=127.0.0.1:port=${tlsPort(server)}`, "--message", "x"));
      expect(r.stderr).toBe(`twine-echo-client: Cannot connect to tls:127.0.0.1:${tlsPort(server)}: the server's certificate is not trusted\n`);
      expect(r.code).toBe(1);
    });
  });

  test("plaintext clients on the TLS port are closed and logged at most once a second, and others are served", async () => {
    await withServer(tlsServer(pair, "--grace", "1"), async (server) => {
      const port = tlsPort(server);
      for (let i = 0; i < 20; i++) {
        const sock = await connect(port);
        sock.on("error", () => {});
        const r = collect(sock, 10_000);
        sock.write("GET / HTTP/1.0\r\n\r\n");
        const seen = await r;
        // Whatever came back (a TLS alert at most) is not our request echoed.
        expect(seen.received.includes("GET /")).toBe(false);
        expect(seen.error?.message ?? "").not.toMatch(/still open/);
      }
      const ok = await echo({ tlsPort: port, ca }, new TextEncoder().encode("still served"));
      expect(ok.received.toString()).toBe("still served");
      const lines = server.output().split("\n").filter((l) => l.startsWith("TLS handshake failed"));
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.length).toBeLessThanOrEqual(3);
    });
  });

  // Node's and Deno's node:tls kept a peer that sent FIN before finishing its handshake in CLOSE_WAIT,
  // descriptor and all, until the 120 s handshake timeout (Deno's a reset one too): enough of them
  // locked every client out. The server is started with the default timeout, so only closing at once passes.
  const earlyClose = [
    ["closes before its ClientHello", (s: net.Socket) => s.end()],
    ["closes halfway through its ClientHello", (s: net.Socket) => s.end(HALF_CLIENT_HELLO)],
    ["resets before its ClientHello", (s: net.Socket) => s.resetAndDestroy()],
  ] as const;
  test.skipIf(!hasProcFds).each(earlyClose)("a peer that %s is closed at once, its descriptor freed, and it is logged", async (kind, giveUp) => {
    await withServer(tlsServer(pair), async (server) => {
      const port = tlsPort(server);
      // A first handshake opens whatever the runtime opens lazily, so the baseline holds.
      expect((await echo({ tlsPort: port, ca }, new TextEncoder().encode("warm"))).received.toString()).toBe("warm");
      const peers = await acceptedPeers(port, 20);
      // Counted once all are accepted, so that a descriptor the warm-up frees meanwhile cannot hide one held.
      const baseline = openFds(server.pid) - peers.length;
      // Not once(): it rejects on the 'error' of a peer the server resets, which is a close too.
      const closed = Promise.all(peers.map((sock) => new Promise((resolve) => sock.closed ? resolve(0) : sock.once("close", resolve))));
      for (const sock of peers) giveUp(sock);
      // A peer that sent FIN hears the close once the server closes its side.
      await within(closed, 5_000);
      const freed = await until(() => openFds(server.pid) <= baseline, 5_000);
      const seen = { freed, fds: openFds(server.pid), baseline, peersClosed: peers.filter((p) => p.closed).length };
      for (const sock of peers) sock.destroy();
      expect(seen).toMatchObject({ freed: true, peersClosed: peers.length });
      // Logged with the peer's address, in the same words on every pair; Deno's node:tls reports a reset as a close.
      const what = kind === "resets before its ClientHello" && !(pair.runtime === "deno" && pair.adapter === "node") ? "reset" : "closed";
      await waitForOutput(server.output, new RegExp(`^TLS handshake failed on ssl:127\\.0\\.0\\.1:${port} from 127\\.0\\.0\\.1:\\d+: the client ${what} the connection during the handshake \\(`, "m"));
    });
  });

  // The listener closes a connection at the peer's FIN until its handshake is done (above), and not after.
  test.each(["before", "after"])("a connection is half-open once its handshake is done: the server answers a FIN sent %s the client's handshake ends", async (when) => {
    const fixture = ["--listen", ssl(), "--protocol", "late"];
    await withServer(startServer(withFileAccess(pair), "test/fixtures/tls_server.ts", fixture), async (server) => {
      const options = { host: "127.0.0.1", port: tlsPort(server), ca, servername: "localhost", allowHalfOpen: true };
      const sock = tls.connect(options as tls.ConnectionOptions);
      sock.on("error", () => {});
      const r = collect(sock, 10_000);
      // Queued before the handshake ends, the FIN reaches the server with the client's Finished.
      if (when === "before") sock.end("hello");
      else sock.once("secureConnect", () => sock.end("hello"));
      const seen = await r;
      expect({ received: seen.received.toString(), ended: seen.ended, error: seen.error?.message }).toEqual({
        received: "late",
        ended: true,
        error: undefined,
      });
    });
  });

  const denoNative = pair.runtime === "deno" && pair.adapter === "native";
  // Deno native bounded no handshake: without an idle timeout, a silent peer was a connection for good.
  test("a handshake not done within the handshake timeout is ended and logged once, with no idle timeout set", async () => {
    const fixture = ["--listen", ssl(), "--options", JSON.stringify({ handshakeTimeout: 500 })];
    await withServer(startServer(withFileAccess(pair), "test/fixtures/tls_server.ts", fixture), async (server) => {
      const port = tlsPort(server);
      const silent = await connect(port);
      silent.on("error", () => {});
      // Half-open, the peer hears a FIN as 'end', a reset as 'close'.
      let serverClosed = false;
      const closedByServer = new Promise((resolve) => {
        silent.once("end", resolve);
        silent.once("close", resolve);
      }).then(() => (serverClosed = true));
      await waitForOutput(server.output, /TLS handshake failed on ssl:127\.0\.0\.1:\d+ from 127\.0\.0\.1:\d+: no handshake within 0\.5 s \(1 in the last second, 1 in all\)/);
      // Deno native ends the connection, which it started at accept, but the runtime keeps its TCP
      // socket until the peer acts (see the test below).
      if (denoNative) await waitForOutput(server.output, /^lost: /m);
      else await within(closedByServer, 10_000);
      expect(serverClosed).toBe(!denoNative);
      // Served afterwards: the server goes on, and a second report of the same peer has had time to come.
      expect((await echo({ tlsPort: port, ca }, new TextEncoder().encode("after"))).received.toString()).toBe("after");
      silent.destroy();
      const { output } = await server.stop();
      const metrics = JSON.parse(/^metrics (.*)$/m.exec(output)![1]!) as Record<string, number>;
      expect({ failed: metrics.tlsHandshakesFailed, completed: metrics.tlsHandshakesCompleted }).toEqual({ failed: 1, completed: 1 });
    });
  });

  const stalledName = "a TLS handshake that never completes is closed by the idle timeout";
  // Deno 2.9.6 cannot: see the next test.
  test.skipIf(denoNative)(denoNative ? `${stalledName} (skipped: ${DENO_STALLED_HANDSHAKE})` : stalledName, async () => {
    await withServer(tlsServer(pair, "--idle-timeout", "0.5", "--grace", "1"), async (server) => {
      const sock = await connect(tlsPort(server));
      sock.on("error", () => {});
      const started = Date.now();
      const r = await collect(sock, 10_000);
      expect(r.error?.message ?? "").not.toMatch(/still open/);
      // Bun checks socket timeouts every few seconds; far below the 10 s a stuck handshake would take.
      expect(Date.now() - started).toBeLessThan(9_000);
    });
  });

  // Deno's TlsStream, when dropped mid-handshake, leaves its handshake task running, and that task
  // holds the TCP socket until the handshake ends (rustls-tokio-stream, src/stream.rs, Drop):
  // nothing a script can call reaches it. If this starts failing, Deno closes a stalled handshake
  // now, and the test above can run on this pair too.
  if (denoNative) test("a stalled handshake is given up at the idle timeout; Deno frees its socket only when the peer next acts", async () => {
    await withServer(tlsServer(pair, "--idle-timeout", "0.5", "--grace", "1"), async (server) => {
      const raw = await connect(tlsPort(server));
      raw.on("error", () => {});
      let closedEarly = false;
      raw.once("close", () => (closedEarly = true));
      // The idle timeout closes the TlsConn, which fails its handshake: that is logged.
      await waitForOutput(server.output, /TLS handshake failed on ssl:127\.0\.0\.1:\d+ from 127\.0\.0\.1:\d+: no handshake within 0\.5 s/);
      expect(closedEarly).toBe(false);
      // The handshake done late, the runtime closes at once: nothing is served.
      const late = tls.connect({ socket: raw, ca, servername: "localhost" });
      late.on("error", () => {});
      await once(late, "secureConnect");
      late.write("anyone there?");
      const r = await collect(late, 10_000);
      expect(r.received.length).toBe(0);
      expect(r.error?.message ?? "").not.toMatch(/still open/);
    });
  });

  test("ALPN is agreed and the server's certificate is readable from the client's transport where the runtime exposes it", async () => {
    await withServer(startServer(withFileAccess(pair), "bin/echo.ts", ["--listen", `${ssl()}:alpn=h2;http/1.1`]), async (server) => {
      const r = await run(
        client(pair, "--show-tls", "--connect", `tls:host=localhost:port=${tlsPort(server)}:trustRoots=${certs.ca}:alpn=http/1.1`, "--message", "x"),
      );
      expect(r.code).toBe(0);
      const peer = pair.runtime === "deno" && pair.adapter === "native" ? "not exposed" : "CN=localhost issuer=CN=twine-test-ca";
      expect(r.stderr).toBe(`TLS: alpn=http/1.1 peer=${peer}\n`);
    });
  });
});


describe.each(PAIRS)("$name TLS failures, in twine's words", (pair) => {
  const rustls = pair.runtime === "deno";
  const denoNative = pair.runtime === "deno" && pair.adapter === "native";
  /** Runs test/fixtures/tls_client.ts against `endpoint`: stdout is `ok RECEIVED` or `CODE MESSAGE`. */
  const tlsClient = (endpoint: string, options: object = {}) =>
    run([...withFileAccess(pair).command, "test/fixtures/tls_client.ts", "--adapter", pair.adapter, "--connect", endpoint, "--options", JSON.stringify(options)]);
  /** The echo client's exit code and line, and the fixture's code and line: two connections. */
  const failure = async (endpoint: string) => {
    const r = await run(client(pair, "--connect", endpoint, "--message", "x"));
    const coded = await tlsClient(endpoint);
    return { code: r.code, stderr: r.stderr, coded: coded.stdout.toString() };
  };

  test("the server logs a plaintext client's failed handshake with the client's address, in twine's words", async () => {
    await withServer(tlsServer(pair), async (server) => {
      const port = tlsPort(server);
      const sock = await connect(port);
      sock.on("error", () => {});
      const from = sock.localPort;
      const r = collect(sock, 10_000);
      sock.write("GET / HTTP/1.0\r\n\r\n");
      await r;
      // rustls cannot tell an HTTP request from other bytes that are not TLS.
      const text = rustls ? "the client did not speak TLS" : "the client sent an HTTP request, not TLS";
      await waitForOutput(server.output, new RegExp(`^TLS handshake failed on ssl:127\\.0\\.0\\.1:${port} from 127\\.0\\.0\\.1:${from}: ${text} \\(1 in the last second, 1 in all\\)$`, "m"));
    });
  });

  test("a client fails with one line and code TLS_VERSION against a server that offers only TLS 1.1", async () => {
    // OpenSSL 3 refuses TLS 1.1 at its default security level by itself: level 0 lets it offer it.
    const server = await sServer(["-cert", certs.cert, "-key", certs.key, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], 2);
    try {
      const endpoint = `tls:host=localhost:port=${server.port}:trustRoots=${certs.ca}`;
      const text = `Cannot connect to tls:localhost:${server.port}: the server offers no TLS version this client accepts`;
      expect(await failure(endpoint)).toEqual({ code: 1, stderr: `twine-echo-client: ${text}\n`, coded: `TLS_VERSION ${text}\n` });
    } finally {
      await server.stop();
    }
  });

  test("a client fails with one line and code TLS_NOT_TLS against a server that answers in plaintext", async () => {
    const plain = net.createServer((sock) => {
      sock.on("error", () => {});
      sock.once("data", () => sock.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"));
    });
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    try {
      const port = (plain.address() as net.AddressInfo).port;
      const text = `Cannot connect to tls:localhost:${port}: the server did not answer in TLS (a plaintext port?)`;
      expect(await failure(`tls:host=localhost:port=${port}`)).toEqual({ code: 1, stderr: `twine-echo-client: ${text}\n`, coded: `TLS_NOT_TLS ${text}\n` });
    } finally {
      plain.close();
    }
  });

  test("a client fails with one line and code ECONNRESET against a server that closes during the handshake", async () => {
    const closing = net.createServer((sock) => {
      sock.on("error", () => {});
      sock.once("data", () => sock.end());
    });
    await new Promise<void>((resolve) => closing.listen(0, "127.0.0.1", resolve));
    try {
      const port = (closing.address() as net.AddressInfo).port;
      const text = `Cannot connect to tls:localhost:${port}: the server closed the connection during the TLS handshake`;
      expect(await failure(`tls:host=localhost:port=${port}`)).toEqual({ code: 1, stderr: `twine-echo-client: ${text}\n`, coded: `ECONNRESET ${text}\n` });
    } finally {
      closing.close();
    }
  });

  // rustls refuses a CA:TRUE certificate as a server's own even when it is the trusted root itself.
  test(denoNative
    ? "a self-signed CA certificate as the server's own fails with code CERT_CA_AS_LEAF and a line that says what to do"
    : "a self-signed CA certificate as the server's own is accepted when trusted", async () => {
    const node = PAIRS.find((p) => p.runtime === "node")!;
    await withServer(startServer(node, "bin/echo.ts", ["--listen", ssl(certs.selfSigned, certs.selfSignedKey)]), async (server) => {
      const port = tlsPort(server);
      const r = await tlsClient(`tls:host=localhost:port=${port}:trustRoots=${certs.selfSigned}`);
      expect(r.stdout.toString()).toBe(denoNative
        ? `CERT_CA_AS_LEAF Cannot connect to tls:localhost:${port}: the server's certificate is a CA certificate (CA:TRUE), which deno native refuses as a server's own; give the server a certificate signed by that CA, or connect with --adapter node\n`
        : "ok hello\n");
    });
  });
});

// Mozilla's "intermediate" configuration (guidelines 6.0): TLS 1.3, and TLS 1.2 with ECDHE and AEAD
// suites only. Bun and Node accepted AES128-SHA, AES128-GCM-SHA256 (no forward secrecy) and
// ECDHE-RSA-AES128-SHA (CBC), as servers and as clients, where Deno's rustls refused them.
// Suites are offered at OpenSSL's security level 0, so that only the server's policy can refuse them.
const WEAK = ["AES128-SHA", "AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA", "DHE-RSA-AES128-GCM-SHA256"];
const INTERMEDIATE_PROBES: [string, string[], string][] = [
  ["TLS 1.0", ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"], "refused"],
  ["TLS 1.1", ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], "refused"],
  ...WEAK.map((suite): [string, string[], string] => [`TLS 1.2 ${suite}`, ["-tls1_2", "-cipher", `${suite}:@SECLEVEL=0`], "refused"]),
  ["TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256"],
  ["TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384", ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"], "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384"],
  ["TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305", ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"], "TLSv1.2 ECDHE-RSA-CHACHA20-POLY1305"],
  ["TLS 1.3", ["-tls1_3"], "TLSv1.3 TLS_AES_256_GCM_SHA384"],
];

/** What `openssl s_client` agrees with the server on `port` for each probe, as `{ probe: result }`. */
async function probeAll(port: number, probes: [string, string[], string][]): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  for (const [name, args] of probes) seen[name] = await sClientProbe(port, args);
  return seen;
}
const expected = (probes: [string, string[], string][]) => Object.fromEntries(probes.map(([name, , result]) => [name, result]));

describe.each(PAIRS)("$name TLS policy", (pair) => {
  const denoNative = pair.runtime === "deno" && pair.adapter === "native";
  const rustls = pair.runtime === "deno";
  const rsa = (extra = "") => `ssl:0:privateKey=${certs.rsaKey}:certKey=${certs.rsaCert}${extra}`;
  const echoCli = (...args: string[]) => [...withFileAccess(pair).command, "bin/echo.ts", "--adapter", pair.adapter, ...args];
  const fixture = (endpoint: string, options: object) =>
    startServer(withFileAccess(pair), "test/fixtures/tls_server.ts", ["--listen", endpoint, "--options", JSON.stringify(options)]);
  const tlsClient = (endpoint: string, options: object = {}) =>
    run([...withFileAccess(pair).command, "test/fixtures/tls_client.ts", "--adapter", pair.adapter, "--connect", endpoint, "--options", JSON.stringify(options)]);

  test("by default the server takes TLS 1.3 and TLS 1.2 with ECDHE and AEAD suites only, as openssl s_client finds", async () => {
    await withServer(startServer(withFileAccess(pair), "bin/echo.ts", ["--listen", rsa()]), async (server) => {
      expect(await probeAll(tlsPort(server), INTERMEDIATE_PROBES)).toEqual(expected(INTERMEDIATE_PROBES));
    });
  });

  test("by default the client refuses a server that offers only suites without forward secrecy or with CBC, in one line", async () => {
    for (const suite of ["AES128-SHA", "AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA"]) {
      const server = await sServer(["-cert", certs.rsaCert, "-key", certs.rsaKey, "-tls1_2", "-cipher", `${suite}:@SECLEVEL=0`]);
      try {
        const r = await tlsClient(`tls:host=localhost:port=${server.port}:trustRoots=${certs.ca}`);
        expect({ suite, out: r.stdout.toString() }).toEqual({
          suite,
          out: `TLS_HANDSHAKE_REFUSED Cannot connect to tls:localhost:${server.port}: the server refused the TLS handshake (most often: no cipher suite in common)\n`,
        });
      } finally {
        await server.stop();
      }
    }
    const good = await sServer(["-cert", certs.rsaCert, "-key", certs.rsaKey, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]);
    try {
      expect((await tlsClient(`tls:host=localhost:port=${good.port}:trustRoots=${certs.ca}`)).stdout.toString()).toBe("ok olleh\n\n");
    } finally {
      await good.stop();
    }
  });

  test(denoNative ? "minVersion=1.3 is refused in one line: deno native cannot refuse TLS 1.2" : "minVersion=1.3 refuses TLS 1.2", async () => {
    if (denoNative) {
      const r = await run(echoCli("--listen", rsa(":minVersion=1.3")));
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 1,
        stderr: "twine-echo: Cannot listen on ssl:127.0.0.1:0: deno native cannot refuse TLS 1.2; use --adapter node\n",
      });
      return;
    }
    await withServer(startServer(withFileAccess(pair), "bin/echo.ts", ["--listen", rsa(":minVersion=1.3")]), async (server) => {
      const probes: [string, string[], string][] = [
        ["TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], "refused"],
        ["TLS 1.3", ["-tls1_3"], "TLSv1.3 TLS_AES_256_GCM_SHA384"],
      ];
      expect(await probeAll(tlsPort(server), probes)).toEqual(expected(probes));
    });
  });

  test(rustls ? "ciphers= is refused in one line: rustls cannot choose suites" : "ciphers= allows exactly the TLS 1.2 suites it names, a weak one too if asked", async () => {
    const endpoint = rsa(":ciphers=AES128-SHA;ECDHE-RSA-AES256-GCM-SHA384");
    if (rustls) {
      const r = await run(echoCli("--listen", rsa(":ciphers=ECDHE-RSA-AES256-GCM-SHA384")));
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 1,
        stderr: `twine-echo: Cannot listen on ssl:127.0.0.1:0: ${pair.name} cannot choose TLS cipher suites (rustls offers Mozilla's intermediate ones and no way to narrow them)\n`,
      });
      return;
    }
    await withServer(startServer(withFileAccess(pair), "bin/echo.ts", ["--listen", endpoint]), async (server) => {
      const probes: [string, string[], string][] = [
        ["TLS 1.2 AES128-SHA", ["-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0"], "TLSv1.2 AES128-SHA"],
        ["TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384", ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"], "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384"],
        ["TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], "refused"],
        ["TLS 1.3", ["-tls1_3"], "TLSv1.3 TLS_AES_256_GCM_SHA384"],
      ];
      expect(await probeAll(tlsPort(server), probes)).toEqual(expected(probes));
    });
  });

  test("a cipher suite the runtime does not have is the same one line on every pair, listening and connecting", async () => {
    const r = await run(echoCli("--listen", rsa(":ciphers=ECDHE-RSA-AES128-GCM-SHA256;NO-SUCH-SUITE")));
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 1,
      stderr: "twine-echo: Cannot listen on ssl:127.0.0.1:0: this runtime's TLS has no cipher suite 'NO-SUCH-SUITE'\n",
    });
    const c = await tlsClient("tls:host=localhost:port=9:ciphers=NO-SUCH-SUITE");
    expect(c.stdout.toString()).toBe("EINVAL Cannot connect to tls:localhost:9: this runtime's TLS has no cipher suite 'NO-SUCH-SUITE'\n");
  });

  test(denoNative
    ? "the listen and connect option tls with minVersion 1.3 is refused in one line"
    : "the listen and connect option tls sets the policy, and an endpoint's own value wins", async () => {
    if (denoNative) {
      await expect(fixture(rsa(), { tls: { minVersion: "1.3" } })).rejects.toThrow(
        /Cannot listen on ssl:127\.0\.0\.1:0: deno native cannot refuse TLS 1\.2; use --adapter node/,
      );
      const c = await tlsClient("tls:host=localhost:port=9", { tls: { minVersion: "1.3" } });
      expect(c.stdout.toString()).toBe("ENOTSUP Cannot connect to tls:localhost:9: deno native cannot refuse TLS 1.2; use --adapter node\n");
      return;
    }
    const tls12 = ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"];
    await withServer(fixture(rsa(), { tls: { minVersion: "1.3" } }), async (server) => {
      expect(await sClientProbe(tlsPort(server), tls12)).toBe("refused");
    });
    await withServer(fixture(rsa(":minVersion=1.2"), { tls: { minVersion: "1.3" } }), async (server) => {
      expect(await sClientProbe(tlsPort(server), tls12)).toBe("TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256");
    });
    for (const [extra, out] of [["", "TLS_VERSION"], [":minVersion=1.2", "ok"]]) {
      const server = await sServer(["-cert", certs.rsaCert, "-key", certs.rsaKey, ...tls12]);
      try {
        const r = await tlsClient(`tls:host=localhost:port=${server.port}:trustRoots=${certs.ca}${extra}`, { tls: { minVersion: "1.3" } });
        expect(r.stdout.toString().split(" ")[0]).toBe(out);
      } finally {
        await server.stop();
      }
    }
  });
});

describe.each(PAIRS)("$name client trustRoots", (pair) => {
  test("a directory of PEM files is trusted as Twisted's trustRoots, other files passed over", async () => {
    const node = PAIRS.find((p) => p.runtime === "node")!;
    await withServer(startServer(withFileAccess(node), "bin/echo.ts", ["--listen", ssl()]), async (server) => {
      const r = await run(client(pair, "--connect", `tls:host=localhost:port=${tlsPort(server)}:trustRoots=${roots}`, "--message", "hello"));
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout.toString() }).toEqual({ code: 0, stderr: "", stdout: "hello" });
    });
  });

  test("a directory with no certificate in its *.pem files is one line naming it, exit 1", async () => {
    const r = await run(client(pair, "--connect", `tls:host=localhost:port=9:trustRoots=${noRoots}`, "--message", "x"));
    expect(r.stderr).toBe(
      `twine-echo-client: Cannot connect to tls:localhost:9: trust roots directory '${noRoots}' holds no certificate in a *.pem file\n`,
    );
    expect(r.code).toBe(1);
  });
});
