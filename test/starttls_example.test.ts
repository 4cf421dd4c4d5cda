// The STARTTLS example of docs/endpoints.md, run as the page shows it and driven by the `openssl s_client
// -starttls smtp` command the page gives, on every pair; a Deno native server cannot upgrade, and says so in one line.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { type Pair, PAIRS, ROOT, withFileAccess } from "../tools/runtimes.ts";
import { makeTestCertificates } from "../tools/test_certs.ts";

const page = readFileSync(join(ROOT, "docs/endpoints.md"), "utf8");
const section = /^## STARTTLS[^\n]*\n([\s\S]*?)(?=^## )/m.exec(page)?.[1] ?? "";
const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
const command = /`(openssl s_client -starttls smtp [^`]*)`/.exec(section)?.[1] ?? "";
// What the page picks: node:net on Deno, the runtime's own API elsewhere.
const PAGE_ADAPTER = 'const adapter = "Deno" in globalThis ? "node" : "native";';
const PAGE_PORT = "{ port: 2525, adapter }";

const certs = makeTestCertificates();
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

function replaceOnce(text: string, from: string, to: string): string {
  expect(text.split(from).length - 1, `the example has ${from} once`).toBe(1);
  return text.replace(from, to);
}

/** The page's example as a file beside cert.pem and key.pem: twine from this checkout, port 0, and the pair's adapter where the page would pick the other. */
function exampleFor(pair: Pair): string {
  let code = replaceOnce(example, 'from "twine-net"', `from ${JSON.stringify(pathToFileURL(join(ROOT, "mod.ts")).href)}`);
  code = replaceOnce(code, PAGE_PORT, "{ port: 0, adapter }");
  const picked = pair.runtime === "deno" ? "node" : "native";
  if (pair.adapter !== picked) code = replaceOnce(code, PAGE_ADAPTER, `const adapter = "${pair.adapter}";`);
  const file = join(certs.dir, `smtpish_${pair.name.replace(/\W/g, "_")}.ts`);
  writeFileSync(file, code);
  return file;
}

interface Running {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
}

/** Starts the example on `pair` in the certificates' directory and waits for its listening line. */
async function start(pair: Pair): Promise<Running> {
  // Deno type-checks the page's code as it runs it.
  const argv = [...withFileAccess(pair).command, ...(pair.runtime === "deno" ? ["--check", "--quiet"] : []), exampleFor(pair)];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: certs.dir, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${pair.name}: no listening line in 30 s:\n${stdout}${stderr}`)), 30_000);
    child.stdout.on("data", () => {
      const m = /^SMTP listening on (\d+)$/m.exec(stdout);
      if (m === null) return;
      clearTimeout(timer);
      resolve(Number(m[1]));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`${pair.name}: exited with ${code} before listening:\n${stdout}${stderr}`));
    });
  });
  return { child, port, stdout: () => stdout, stderr: () => stderr };
}

async function stop(server: Running): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const closed = once(server.child, "close");
  server.child.kill("SIGKILL");
  await closed;
}

/** The page's s_client command against `port`, with `input` typed; refuses an unverified certificate. */
async function sClient(port: number, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = replaceOnce(command, "127.0.0.1:2525", `127.0.0.1:${port}`).split(" ").slice(1);
  const child = spawn("openssl", [...args, "-verify_return_error"], { cwd: certs.dir, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

test("the page shows the example, the s_client command, and how each runtime adapter takes it", () => {
  expect(example).toContain("class Smtpish");
  expect(example).toContain(PAGE_ADAPTER);
  expect(command).toMatch(/ -connect 127\.0\.0\.1:2525 .*-CAfile ca\.pem/);
});

const upgrades = (pair: Pair) => !(pair.runtime === "deno" && pair.adapter === "native");

describe.each(PAIRS.filter(upgrades))("the example on $name", (pair) => {
  test("greets, offers STARTTLS, upgrades for openssl s_client -starttls smtp, and answers EHLO and QUIT over TLS", async () => {
    const server = await start(pair);
    try {
      const r = await sClient(server.port, "EHLO me\nQUIT\n");
      expect({ code: r.code, stdout: r.stdout }, r.stderr).toEqual({ code: 0, stdout: "250 mail.example\r\n221 Bye\r\n" });
      expect(server.stderr()).toBe("");
    } finally {
      await stop(server);
    }
  });

  test("does not answer, inside TLS, lines sent in plaintext after STARTTLS", async () => {
    const server = await start(pair);
    try {
      const plain = await net.connect(server.port, "127.0.0.1");
      await once(plain, "connect");
      let seen = "";
      const ready = new Promise<void>((resolve) => {
        plain.setEncoding("latin1").on("data", function onData(s: string) {
          seen += s;
          if (!seen.endsWith("220 Ready to start TLS\r\n")) return;
          plain.off("data", onData);
          resolve();
        });
      });
      // A man in the middle appends QUIT after STARTTLS; it must not be taken as the client's command over TLS.
      plain.write("EHLO me\r\nSTARTTLS\r\nQUIT\r\n");
      await ready;
      expect(seen).toBe("220 mail.example ESMTP twine\r\n250-mail.example\r\n250 STARTTLS\r\n220 Ready to start TLS\r\n");
      const secure = tls.connect({ socket: plain, ca: readFileSync(certs.ca), servername: "localhost" });
      await once(secure, "secureConnect");
      let overTls = "";
      secure.setEncoding("latin1").on("data", (s: string) => (overTls += s));
      const closed = once(secure, "close");
      secure.write("EHLO again\r\n");
      secure.write("QUIT\r\n");
      await closed;
      expect(overTls).toBe("250 mail.example\r\n221 Bye\r\n");
    } finally {
      await stop(server);
    }
  });
});

test("the example on deno native cannot upgrade: s_client fails, and the server says why in one line", async () => {
  const server = await start(PAIRS.find((p) => p.runtime === "deno" && p.adapter === "native")!);
  try {
    const r = await sClient(server.port, "EHLO me\nQUIT\n");
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    const until = Date.now() + 10_000;
    while (server.stderr() === "" && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.stderr()).toMatch(
      /^Cannot start TLS on the connection with 127\.0\.0\.1:\d+: deno native cannot upgrade an accepted connection \(Deno\.startTls is client-side only\); listen with --adapter node\n$/,
    );
  } finally {
    await stop(server);
  }
});
