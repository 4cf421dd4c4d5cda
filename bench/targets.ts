/** The servers the benchmark runs: every runtime x adapter pair, and the bare reference servers. */
import { execFileSync } from "node:child_process";
import { BINARIES } from "../tools/runtimes.ts";
import type { Reach, Transport } from "./measure.ts";

export interface Target {
  /** Short name for --targets: bun, bun-node, deno, deno-node, node, bare-bun, bare-deno, bare-node, bare-c, twisted. */
  id: string;
  /** e.g. "bun native", "bare deno". */
  name: string;
  /** bun, deno, node; c for the ceiling, python for Twisted. */
  runtime: string;
  /** "twine" for our adapters, "bare" for the references, "external" for --target. */
  kind: "twine" | "bare" | "external";
  /** The command, without --port; undefined for an external server. */
  command?: string[];
}

const BUN = [BINARIES.bun, "run"];
const DENO = [BINARIES.deno, "run", "--allow-net"];
const NODE = [BINARIES.node];

let python: string | null | undefined;

/**
 * A Python 3 that can import Twisted (Debian's `python3-twisted` installs it for
 * /usr/bin/python3, which need not be the first python3 on PATH), looked up once.
 *
 * @returns Its path, or undefined where none is installed.
 */
export function twistedPython(): string | undefined {
  if (python === undefined) {
    python = null;
    for (const candidate of ["/usr/bin/python3", "python3"]) {
      try {
        execFileSync(candidate, ["-c", "import twisted"], { stdio: "ignore", timeout: 10_000 });
        python = candidate;
        break;
      } catch {
        // Not there, or without Twisted: try the next.
      }
    }
  }
  return python ?? undefined;
}

/** The line a run prints where Twisted's row cannot run. */
export const NO_TWISTED = "bench: Twisted row skipped: no python3 here imports twisted (`npm run bench:setup` installs Debian's python3-twisted)";

/**
 * Every built-in target, in the order they run within one repetition: each native
 * adapter next to its bare server, so that drift on a noisy machine hits both alike;
 * the references last: the C ceiling, and Twisted's own echo server where a Python with
 * Twisted is installed (see {@link twistedPython}).
 */
export function builtinTargets(cEcho: string): Target[] {
  return [
    { id: "bun", name: "bun native", runtime: "bun", kind: "twine", command: [...BUN, "bin/echo.ts", "--adapter", "native"] },
    { id: "bare-bun", name: "bare bun", runtime: "bun", kind: "bare", command: [...BUN, "bench/bare/bun.ts"] },
    { id: "bun-node", name: "bun node:net", runtime: "bun", kind: "twine", command: [...BUN, "bin/echo.ts", "--adapter", "node"] },
    { id: "deno", name: "deno native", runtime: "deno", kind: "twine", command: [...DENO, "bin/echo.ts", "--adapter", "native"] },
    { id: "bare-deno", name: "bare deno", runtime: "deno", kind: "bare", command: [...DENO, "bench/bare/deno.ts"] },
    { id: "deno-node", name: "deno node:net", runtime: "deno", kind: "twine", command: [...DENO, "bin/echo.ts", "--adapter", "node"] },
    { id: "node", name: "node", runtime: "node", kind: "twine", command: [...NODE, "bin/echo.ts"] },
    { id: "bare-node", name: "bare node", runtime: "node", kind: "bare", command: [...NODE, "bench/bare/node.ts"] },
    { id: "bare-c", name: "bare c", runtime: "c", kind: "bare", command: [cEcho] },
    ...(twistedPython() === undefined ? [] : [
      { id: "twisted", name: "twisted", runtime: "python", kind: "bare" as const, command: [twistedPython()!, "bench/bare/twisted_echo.py"] },
    ]),
  ];
}

/**
 * The same twine target twice, with byte counting on and off (`bench/metrics_echo.ts`), for
 * `--cost --against metrics-off`: "on" takes twine's place in the pair and "off" the bare server's.
 *
 * @param t A twine target.
 * @returns The two targets, on first.
 */
export function metricsPair(t: Target): [on: Target, off: Target] {
  const runtime = { bun: BUN, deno: DENO, node: NODE }[t.runtime as "bun" | "deno" | "node"];
  const adapter = t.command!.includes("node") ? "node" : "native";
  const side = (metrics: "on" | "off"): Target => ({
    id: `${t.id}-metrics-${metrics}`,
    name: `${t.name} metrics ${metrics}`,
    runtime: t.runtime,
    kind: "twine",
    command: [...runtime, "bench/metrics_echo.ts", "--adapter", adapter, "--metrics", metrics],
  });
  return [side("on"), side("off")];
}

/**
 * How a twine target reads beside another runtime's: the runtime alone for a native
 * adapter ("bun"), the target's name otherwise ("bun node:net").
 *
 * @param t A twine target.
 * @returns Its short label.
 */
export function runtimeLabel(t: Target): string {
  return t.command?.includes("native") || t.id === "node" ? t.runtime : t.name;
}

/** Whether the target serves UDP echo: twine's, started with --udp. */
export function servesUdp(t: Target): boolean {
  return t.kind === "twine";
}

/**
 * Adds --udp (without a rate limit, which would cap the row) to twine's targets; Deno also needs --unstable-net.
 *
 * @param t A target.
 * @returns The same target, serving UDP echo on its TCP port where it can.
 */
export function withUdp(t: Target): Target {
  if (!servesUdp(t) || t.command === undefined) return t;
  const command = t.runtime === "deno" ? [t.command[0]!, t.command[1]!, "--unstable-net", ...t.command.slice(2)] : t.command;
  return { ...t, command: [...command, "--udp", "--udp-rate", "0"] };
}

/** The native-adapter row that each bare row is the reference for. */
export const NATIVE_OF: Record<string, string> = { bun: "bun native", deno: "deno native", node: "node" };

/** What serving over TLS or a Unix socket needs: certificate files, a folder for socket files. */
export interface TransportSetup {
  transport: Transport;
  /** tls: the server's certificate and key, and the CA that signed them. */
  certs?: { cert: string; key: string; ca: string };
  /** unix: where each target's socket file goes. */
  dir?: string;
}

/**
 * The command that starts `t` over `setup`'s transport and how to reach it; undefined for
 * a target without such a server (the C ceiling has no TLS).
 *
 * @param t A built-in target.
 * @param setup The transport, with its certificates or socket folder.
 * @returns The command (without --port, which startServer adds over TCP) and its reach.
 */
export function serverCommand(t: Target, setup: TransportSetup): { command: string[]; reach: Reach } | undefined {
  const base = t.command!;
  if (setup.transport === "tcp") return { command: base, reach: { transport: "tcp" } };
  if (t.runtime === "c" && setup.transport === "tls") return undefined;
  // Twisted's row is the seed's plain TCP echo server.
  if (t.runtime === "python") return undefined;
  // Deno reads certificate files and creates socket files only when allowed to.
  const command = t.runtime === "deno" ? [...base.slice(0, 3), "--allow-read", "--allow-write", ...base.slice(3)] : [...base];
  if (setup.transport === "unix") {
    const path = `${setup.dir}/${t.id}.sock`;
    command.push(...(t.kind === "twine" ? ["--listen", `unix:${path}`] : ["--unix", path]));
    return { command, reach: { transport: "unix", path } };
  }
  const { cert, key, ca } = setup.certs!;
  command.push(...(t.kind === "twine" ? ["--listen", `ssl:0:privateKey=${key}:certKey=${cert}`] : ["--tls-cert", cert, "--tls-key", key]));
  return { command, reach: { transport: "tls", ca } };
}
