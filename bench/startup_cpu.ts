/**
 * CPU time of a server's main thread from its start to its first echoed byte, twine's echo server
 * from one or more source trees against the bare server of the same runtime: steadier than the
 * wall clock of `--cost --scenarios startup` on a shared machine, where a 1–2 ms change drowns.
 *
 *   node bench/startup_cpu.ts [--rounds 40] [--runtimes bun,deno,node] TREE...
 *
 * Each round launches every tree's server and the bare one in turn (the order reversed every other
 * round), reads `/proc/PID/task/PID/schedstat` once the echo is back, and prints per runtime the
 * median difference of each tree against bare with a 95% bootstrap interval, and of each tree
 * against the first. Linux only.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { BINARIES, ROOT } from "../tools/runtimes.ts";
import { startServer } from "./measure.ts";
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

/** Main-thread CPU milliseconds from spawn to the first echoed byte (the bench's own launch and first echo). */
async function launch(argv: string[]): Promise<number> {
  const server = await startServer(argv, undefined);
  const ns = Number(readFileSync(`/proc/${server.pid}/task/${server.pid}/schedstat`, "utf8").split(" ")[0]);
  await server.stop();
  return ns / 1e6;
}

const fmt = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(1)}`;
console.log(`main-thread CPU to first echo, ${rounds} rounds; median difference [95% bootstrap interval], ms`);
for (const runtime of values.runtimes.split(",")) {
  const sides = [...trees.map((t) => [...RUN[runtime]!, join(t, "bin/echo.ts"), "--adapter", "native"]), [...RUN[runtime]!, BARE[runtime]!]];
  const times: number[][] = sides.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) times[i]!.push(await launch(sides[i]!));
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
