/** What a benchmark result records about the machine and the runtimes it ran on. */
import { execFileSync } from "node:child_process";
import os from "node:os";
import process from "node:process";
import { BINARIES } from "../tools/runtimes.ts";

/** Whether `taskset` can pin processes to CPUs here. */
export function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function version(command: string[]): string {
  try {
    return execFileSync(command[0]!, command.slice(1), { encoding: "utf8" }).split("\n")[0]!.trim();
  } catch {
    return "unknown";
  }
}

/**
 * @param pin Whether servers run on CPU 0 and the load generator on CPU 1.
 * @returns Versions, CPU, cores, kernel, memory, date and pinning.
 */
export function environment(pin: boolean) {
  const cpu = os.cpus()[0]?.model ?? "unknown";
  return {
    date: new Date().toISOString(),
    bun: version([BINARIES.bun, "--version"]),
    deno: version([BINARIES.deno, "--version"]),
    node: version([BINARIES.node, "--version"]),
    cc: version(["cc", "--version"]),
    cpu,
    cores: os.availableParallelism(),
    kernel: `${os.type()} ${os.release()}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadGenerator: "bench/loadgen/loadgen.c: C, epoll, one thread, compiled with cc -O2",
    pinning: pin ? "servers on CPU 0, load generator on CPU 1 (taskset)" : "none",
  };
}
