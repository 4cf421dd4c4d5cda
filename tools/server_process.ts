import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { type Pair, ROOT } from "./runtimes.ts";

/** A server running as a child process. */
export interface ServerProcess {
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` and resolves with the exit code and the output. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; output: string }>;
}

/**
 * Starts `script` on `pair`'s runtime with `--port 0 --adapter …` and waits for
 * the line saying where it listens.
 */
export function startServer(pair: Pair, script: string, args: string[] = []): Promise<ServerProcess> {
  return startProcess(pair.name, [...pair.command, script, "--port", "0", "--adapter", pair.adapter, ...args]);
}

/** Runs a command with the soft open-files limit raised to the hard one, where the OS allows. */
export const RAISE_FD_LIMIT = ["sh", "-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh"] as const;

/** Starts `command` and waits for the line saying where it listens on 127.0.0.1 or [::1]. */
export async function startProcess(name: string, command: readonly string[]): Promise<ServerProcess> {
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (output += s));
  const exited = once(child, "close");
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no listening line in 30 s:\n${output}`)), 30_000);
    const check = () => {
      const m = /listening on (?:UDP )?(?:127\.0\.0\.1|\[::1\]):(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", check);
    child.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    port,
    pid: child.pid!,
    child,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const [code] = (await exited) as [number | null];
      clearTimeout(timer);
      return { code, output };
    },
  };
}

/** Resident memory of a process in bytes, read from /proc (Linux). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : NaN;
}

/** Open file descriptors of a process (Linux). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
