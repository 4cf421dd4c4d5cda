/**
 * CPU time of a server's main thread from its start to its first echoed byte, twine's echo server
 * from one or more source trees against the bare server of the same runtime: steadier than the
 * wall clock of `--cost --scenarios startup` on a shared machine, where a 1–2 ms change drowns.
 *
 *   node bench/startup_cpu.ts [--rounds 40] [--runtimes bun,deno,node] TREE...
 *
 * Each round launches every tree's server and the bare one in turn (the order reversed every other
 * round), reads `/proc/PID/task/PID/schedstat` when the echo arrives, and prints per runtime the
 * median difference of each tree against bare with a 95% bootstrap interval, and of each tree
 * against the first. Linux only.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { BINARIES, ROOT } from "../tools/runtimes.ts";
import { bootstrapMedian } from "./stats.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: "string", default: "40" }, runtimes: { type: "string", default: "bun,deno,node" } },
});
const rounds = Number(values.rounds);
const trees = positionals.length > 0 ? positionals.map((t) => resolve(t)) : [ROOT];
if (!Number.isInteger(rounds) || rounds < 2) {
  console.error(`startup_cpu: bad --rounds '${values.rounds}': expected an integer of at least 2`);
  process.exit(2);
}

const RUN: Record<string, string[]> = {
  bun: [BINARIES.bun, "run"],
  deno: [BINARIES.deno, "run", "--allow-net"],
  node: [BINARIES.node],
};
const BARE: Record<string, string> = { bun: "bench/bare/bun.ts", deno: "bench/bare/deno.ts", node: "bench/bare/node.ts" };

/** Main-thread CPU milliseconds from spawn to the first echoed byte. */
async function launch(argv: string[], cwd: string): Promise<number> {
  const child = spawn(argv[0]!, [...argv.slice(1), "--port", "0"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (output += s));
  const port = await new Promise<number>((ok, fail) => {
    const check = () => {
      const m = /listening on [\d.]+:(\d+)/.exec(output);
      if (m) ok(Number(m[1]));
    };
    child.stdout!.on("data", check);
    child.once("close", () => fail(new Error(`exited before listening: ${output.trim()}`)));
  });
  const sock = net.connect({ host: "127.0.0.1", port, noDelay: true }, () => sock.write("x"));
  await once(sock, "data");
  const ns = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/schedstat`, "utf8").split(" ")[0]);
  sock.destroy();
  child.kill("SIGKILL");
  await once(child, "close");
  return ns / 1e6;
}

const fmt = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(1)}`;
console.log(`main-thread CPU to first echo, ${rounds} rounds; median difference [95% bootstrap interval], ms`);
for (const runtime of values.runtimes.split(",")) {
  const sides = [...trees.map((t) => ({ argv: [...RUN[runtime]!, "bin/echo.ts", "--adapter", "native"], cwd: t })), {
    argv: [...RUN[runtime]!, BARE[runtime]!],
    cwd: ROOT,
  }];
  const times: number[][] = sides.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) times[i]!.push(await launch(sides[i]!.argv, sides[i]!.cwd));
  }
  const bare = times[sides.length - 1]!;
  const line = (name: string, a: number[], b: number[]) => {
    const { median, low, high } = bootstrapMedian(a.map((x, i) => x - b[i]!));
    return `${name} ${fmt(median)} [${fmt(low)}, ${fmt(high)}]`;
  };
  const parts = trees.map((t, i) => line(`${t} − bare`, times[i]!, bare));
  for (let i = 1; i < trees.length; i++) parts.push(line(`${trees[i]} − ${trees[0]}`, times[i]!, times[0]!));
  console.log(`${runtime}: ${parts.join("; ")}`);
}
