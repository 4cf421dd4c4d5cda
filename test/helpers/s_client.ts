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
