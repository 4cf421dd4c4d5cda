import { spawn } from "node:child_process";
import { once } from "node:events";
import { ROOT } from "../../tools/runtimes.ts";

/** What a finished command left. */
export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command to its end with `input` on stdin, killed after `ms`; resolves with its exit code and output. */
export async function run(command: readonly string[], input: Uint8Array = new Uint8Array(0), ms = 60_000): Promise<RunResult> {
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  child.stdin.on("error", () => {});
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return { code, stdout: Buffer.concat(out), stderr };
}

/** Resolves once `output()` matches `pattern`, polling each 20 ms; rejects after `ms` with what it saw. */
export async function waitForOutput(output: () => string, pattern: RegExp, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(output())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in ${ms} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
