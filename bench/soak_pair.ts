/** Soaks one runtime x adapter pair: its echo server under the repeating mix, sampled as it runs. */
import { ROOT, type Pair } from "../tools/runtimes.ts";
import { openFds, RAISE_FD_LIMIT, residentBytes, type ServerProcess, startProcess } from "../tools/server_process.ts";
import { runJob } from "./measure.ts";
import { MIX } from "./soak_mix.ts";
import type { SoakSample } from "./soak_verdict.ts";

/** What one pair's soak produced. */
export interface PairRun {
  pair: string;
  samples: SoakSample[];
  /** Mix steps run, and bytes the load generator checked. */
  steps: number;
  verifiedBytes: number;
  /** Descriptors open once the first round had settled, and at the end once the load was gone. */
  fdsBaseline: number;
  fdsEnd: number;
  /** Each a one-line reason: a load error, a dead server, a bad exit. */
  failures: string[];
}

/** How to soak. */
export interface PairOptions {
  /** Seconds of load. */
  duration: number;
  /** Seconds between samples. */
  interval: number;
  loadgen: string;
  /** A command the server is started through, such as `env NAME=VALUE`. */
  prefix: readonly string[];
  /** Runtime flags put before the script, such as a smaller young generation. */
  runtimeArgs: readonly string[];
  /** The server script, relative to the project root; it takes `--port 0 --adapter KIND`. */
  server: string;
  /** Called with one line of progress. */
  progress(line: string): void;
}

/** The prefix of the lines bench/soak_heap.ts prints; importing it would start its timer here. */
const HEAP_LINE = "soak-heap";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads the last heap line the preloaded reporter printed, if any. */
function lastHeap(server: ServerProcess): Pick<SoakSample, "heapUsed" | "heapTotal" | "external"> {
  const out = server.output();
  const at = out.lastIndexOf(`${HEAP_LINE} `);
  if (at < 0) return {};
  const [heapUsed, heapTotal, external] = out.slice(at + HEAP_LINE.length + 1).split("\n", 1)[0]!.split(" ").map(Number);
  return Number.isFinite(external) ? { heapUsed, heapTotal, external } : {};
}

function alive(server: ServerProcess): boolean {
  return server.child.exitCode === null && server.child.signalCode === null;
}

/** Polls the descriptor count until three readings 200 ms apart agree, for at most 3 s. */
async function stableFds(pid: number): Promise<number> {
  const readings = [openFds(pid)];
  for (let i = 0; i < 15 && !(readings.length >= 3 && readings.slice(-3).every((n) => n === readings.at(-1))); i++) {
    await sleep(200);
    readings.push(openFds(pid));
  }
  return readings.at(-1)!;
}

/** The server's last line that is not a heap report, for a failure message. */
function lastLine(output: string): string {
  return output.trim().split("\n").filter((l) => !l.startsWith(HEAP_LINE)).at(-1) ?? "no output";
}

/** Polls the descriptor count until it is at most `target` or `ms` pass; returns the last count. */
async function settleFds(pid: number, target: number, ms: number): Promise<number> {
  const end = Date.now() + ms;
  let fds = openFds(pid);
  while (fds > target && Date.now() < end) {
    await sleep(100);
    fds = openFds(pid);
  }
  return fds;
}

/**
 * Starts `pair`'s echo server (the CLI unless told otherwise) with the heap reporter
 * preloaded, runs the mix over and over for `duration` seconds, samples RSS,
 * descriptors and heap every `interval`, then stops the server and expects it to exit 0.
 *
 * @param pair The runtime and adapter.
 * @param options Duration, sampling and the load generator's path.
 * @returns The samples and any failures; never throws for what the server does.
 */
export async function soakPair(pair: Pair, options: PairOptions): Promise<PairRun> {
  const run: PairRun = { pair: pair.name, samples: [], steps: 0, verifiedBytes: 0, fdsBaseline: 0, fdsEnd: 0, failures: [] };
  const preload = pair.runtime === "node" ? "--import" : "--preload";
  let server: ServerProcess;
  try {
    server = await startProcess(pair.name, [
      ...options.prefix,
      ...RAISE_FD_LIMIT,
      ...pair.command,
      ...options.runtimeArgs,
      preload,
      `${ROOT}bench/soak_heap.ts`,
      `${ROOT}${options.server}`,
      "--port",
      "0",
      "--adapter",
      pair.adapter,
    ]);
  } catch (error) {
    run.failures.push(`${pair.name}: cannot start the server: ${(error as Error).message.split("\n")[0]}`);
    return run;
  }
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const sample = () => {
    if (!alive(server)) return;
    try {
      run.samples.push({ t: Math.round(elapsed() * 10) / 10, rss: residentBytes(server.pid), fds: openFds(server.pid), ...lastHeap(server) });
    } catch {
      // The process went away between the check and the read; the next check says so.
    }
  };
  sample();
  const sampler = setInterval(sample, options.interval * 1000);
  const running = { host: "127.0.0.1", port: server.port, pid: server.pid };
  try {
    for (let i = 0; elapsed() < options.duration && alive(server); i++) {
      const step = MIX[i % MIX.length]!;
      const seconds = Math.min(step.seconds, Math.max(0.5, options.duration - elapsed()));
      const result = await runJob(options.loadgen, step.job, { ...running, stop: async () => {} }, { duration: seconds, warmup: 0 }, undefined);
      run.steps++;
      run.verifiedBytes += result.verifiedBytes;
      for (const e of result.errors.slice(0, 1)) run.failures.push(`${pair.name}: ${step.name} at ${Math.round(elapsed())} s: ${e}`);
      if (run.failures.length > 0) break;
      if (i === MIX.length - 1) {
        // After a whole round every kind of connection has come and gone once: that count is the baseline.
        run.fdsBaseline = await stableFds(server.pid);
        options.progress(`${pair.name}: first round done, ${run.fdsBaseline} descriptors open`);
      }
    }
  } finally {
    clearInterval(sampler);
  }
  if (!alive(server)) {
    run.failures.push(`${pair.name}: the server died at ${Math.round(elapsed())} s: ${lastLine(server.output())}`);
    return run;
  }
  sample();
  if (run.fdsBaseline === 0) run.fdsBaseline = await stableFds(server.pid);
  run.fdsEnd = await settleFds(server.pid, run.fdsBaseline, 10_000);
  if (run.fdsEnd > run.fdsBaseline) {
    run.failures.push(`${pair.name}: ${run.fdsEnd - run.fdsBaseline} descriptors leaked (${run.fdsBaseline} after the first round, ${run.fdsEnd} at the end)`);
  }
  const { code, output } = await server.stop("SIGTERM");
  // Deno's node:child_process reports a null code for a child it signalled, even one that
  // exited 0, so under Deno the CLI's own shutdown line stands in for the code.
  const clean = code === 0 || (code === null && /^Stopped on SIGTERM/m.test(output));
  if (!clean) run.failures.push(`${pair.name}: the server exited with ${code} on SIGTERM: ${lastLine(output)}`);
  return run;
}
