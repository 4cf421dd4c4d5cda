/** `openssl s_server` as an outside TLS server, for the clients' tests. */
import { spawn } from "node:child_process";

/** A running `openssl s_server`. */
export interface SServer {
  readonly port: number;
  /** What it printed so far. */
  output(): string;
  /** Kills it, if it has not exited, and waits for it. */
  stop(): Promise<void>;
}

/**
 * Starts `openssl s_server -accept 127.0.0.1:0 -naccept N -rev ARGS` (certificate, key,
 * versions and suites in `args`) and resolves once it says where it listens; rejects after 10 s.
 * It exits after `accepts` connections.
 */
export function sServer(args: readonly string[], accepts = 1): Promise<SServer> {
  // -rev answers each line reversed and ignores stdin, which stays open so that s_server does not quit on its end.
  const child = spawn("openssl", ["s_server", "-accept", "127.0.0.1:0", "-naccept", String(accepts), "-rev", ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`s_server did not listen in 10 s:\n${output}`));
    }, 10_000);
    const read = (s: Buffer) => {
      output += s.toString();
      const m = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(output);
      if (m === null) return;
      clearTimeout(timer);
      resolve({
        port: Number(m[1]),
        output: () => output,
        stop: () => {
          child.kill();
          return exited;
        },
      });
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`s_server exited ${code} before listening:\n${output}`));
    });
  });
}
