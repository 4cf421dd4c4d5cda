/** `openssl s_client` as an outside client: sends a payload and collects the echo. */
import { spawn } from "node:child_process";

/**
 * Runs `openssl s_client ARGS -quiet -ign_eof -verify_return_error`, writes `payload`, and
 * resolves with what came back once it is at least as long; rejects after 30 s or when
 * s_client ends short.
 */
export async function sClientEcho(args: readonly string[], payload: Uint8Array): Promise<Buffer> {
  // -ign_eof: s_client would otherwise close on the end of its input before the echo is back.
  const child = spawn("openssl", ["s_client", ...args, "-quiet", "-ign_eof", "-verify_return_error"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const chunks: Buffer[] = [];
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received} bytes back in 30 s`)), 30_000);
    child.stdout.on("data", (c: Buffer) => {
      chunks.push(c);
      received += c.length;
      if (received >= payload.length) {
        clearTimeout(timer);
        resolve();
      }
    });
    // 'close', not 'exit': exit can come before the last of stdout has been read.
    child.on("close", (code) => {
      clearTimeout(timer);
      if (received < payload.length) reject(new Error(`s_client exited ${code} after ${received} bytes`));
    });
  });
  child.stdin.end(payload);
  try {
    await done;
  } finally {
    child.kill();
  }
  return Buffer.concat(chunks);
}

/**
 * Runs `openssl s_client -connect 127.0.0.1:PORT -servername localhost ARGS` with nothing to
 * send, and says what the handshake agreed: `TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256`, or
 * `refused` when it agreed on nothing. Killed after 10 s.
 *
 * @param port Where the server listens.
 * @param args Versions and suites to offer, such as `-tls1_2 -cipher AES128-SHA:@SECLEVEL=0`
 *   (OpenSSL 3 refuses TLS 1.0 and 1.1 and some suites at its default level by itself, which
 *   would hide the server's answer), or `-starttls smtp`.
 */
export async function sClientProbe(port: number, args: readonly string[]): Promise<string> {
  const child = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill(), 10_000);
  await new Promise((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  // "New, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256", or "(NONE)" when refused. The version there
  // is the suite's own (SSLv3 for AES128-SHA); a TLS 1.2 session's is also on its "Protocol  :" line,
  // which s_client does not print for TLS 1.3 when it quits before the session ticket.
  const agreed = /^New, ([^,]+), Cipher is ([A-Z0-9_-]+)$/m.exec(output);
  if (agreed === null) return "refused";
  const version = /^\s*Protocol\s*:\s*(TLSv[\d.]+)$/m.exec(output)?.[1] ?? agreed[1];
  return `${version} ${agreed[2]}`;
}
