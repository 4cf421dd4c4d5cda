/** The servers the benchmark runs: every runtime x adapter pair, and the bare reference servers. */
import { BINARIES } from "../tools/runtimes.ts";
import type { Reach, Transport } from "./measure.ts";

export interface Target {
  /** Short name for --targets: bun, bun-node, deno, deno-node, node, bare-bun, bare-deno, bare-node, bare-c. */
  id: string;
  /** e.g. "bun native", "bare deno". */
  name: string;
  /** bun, deno, node, or c for the ceiling. */
  runtime: string;
  /** "twine" for our adapters, "bare" for the references, "external" for --target. */
  kind: "twine" | "bare" | "external";
  /** The command, without --port; undefined for an external server. */
  command?: string[];
}

const BUN = [BINARIES.bun, "run"];
const DENO = [BINARIES.deno, "run", "--allow-net"];
const NODE = [BINARIES.node];

/**
 * Every built-in target, in the order they run within one repetition: each native
 * adapter next to its bare server, so that drift on a noisy machine hits both alike.
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
