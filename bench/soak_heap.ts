/**
 * Preloaded into the echo server by the soak (`node --import`, `bun --preload`,
 * `deno run --preload`): prints the JavaScript heap in use to stderr once a second,
 * so the soak (bench/soak_pair.ts) can read it beside RSS without an inspector and without soak-only
 * code in the CLI. One line each: `soak-heap HEAP_USED HEAP_TOTAL EXTERNAL` in bytes.
 *
 * @module
 */
import process from "node:process";
import { setInterval } from "node:timers";

const timer = setInterval(() => {
  const m = process.memoryUsage();
  process.stderr.write(`soak-heap ${m.heapUsed} ${m.heapTotal} ${m.external}\n`);
}, 1000);
// The server's own handles decide when it exits, not this report.
timer.unref();
