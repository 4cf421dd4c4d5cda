/**
 * The scenarios of the paired run (`npm run bench -- --cost`): what each asks of the load
 * generator or of fresh servers, which figures it yields, and how they are named.
 *
 * @module
 */
import type { FigureSpec } from "./paired.ts";
import type { ScenarioRun, Transport } from "./measure.ts";
import type { Job } from "./scenarios.ts";

/** Scenarios measured in alternating slices of load on two running servers. */
export type SliceKind = "rr64" | "stream" | "stream-256k" | "handshake" | "udp";
/** Scenarios measured on fresh servers launched in turn. */
export type LaunchKind = "startup" | "startup-package" | "idle";

/** The servers a scenario needs: their transport, or udp for TCP servers that also serve UDP echo. */
export type Channel = Transport | "udp";

/** One scenario of the paired run. */
export interface CostScenario {
  /** As --scenarios takes it and the tables print it: rr64, tls:rr64, unix:stream-256k, handshake, startup… */
  id: string;
  kind: SliceKind | LaunchKind;
  channel: Channel;
  /** Measured on fresh servers (start-up, idle memory) rather than in slices. */
  launch: boolean;
}

/** rr64, stream and stream-256k run over any transport; the others over one. */
const OVER_ANY: readonly string[] = ["rr64", "stream", "stream-256k"];
const LAUNCHES: readonly string[] = ["startup", "startup-package", "idle"];

/** What `npm run bench -- --cost` measures for twine against the bare server of its runtime. */
export const COST_DEFAULT: readonly string[] = ["rr64", "stream", "stream-256k", "handshake", "startup", "startup-package", "idle"];

/** What it measures for twine on one runtime against twine on another. */
export const RUNTIMES_DEFAULT: readonly string[] = ["rr64", "stream-256k", "tls:rr64", "handshake", "unix:rr64", "udp"];

/** In-flight cap per connection of the small-window stream. */
export const SMALL_WINDOW = 256 * 1024;

/**
 * Reads scenario names: rr64, stream and stream-256k may carry a transport (`tls:rr64`,
 * `unix:stream`); without one they run over each of `transports`. handshake is TLS's and
 * udp is UDP's; startup, startup-package and idle launch fresh servers.
 *
 * @param names The names, as given.
 * @param transports What an unprefixed rr64, stream or stream-256k runs over.
 * @returns The scenarios, each once, or the message for the first name it cannot read.
 */
export function parseScenarios(names: readonly string[], transports: readonly Transport[]): CostScenario[] | string {
  const out: CostScenario[] = [];
  const add = (s: CostScenario) => {
    if (!out.some((o) => o.id === s.id)) out.push(s);
  };
  for (const name of names) {
    const m = /^(?:(tcp|tls|unix):)?([a-z0-9-]+)$/.exec(name);
    const prefix = m?.[1] as Transport | undefined;
    const kind = m?.[2] ?? "";
    if (OVER_ANY.includes(kind)) {
      for (const t of prefix === undefined ? transports : [prefix]) {
        add({ id: t === "tcp" ? kind : `${t}:${kind}`, kind: kind as SliceKind, channel: t, launch: false });
      }
    } else if (kind === "handshake" && (prefix === undefined || prefix === "tls")) {
      add({ id: "handshake", kind, channel: "tls", launch: false });
    } else if (kind === "udp" && prefix === undefined) {
      add({ id: "udp", kind, channel: "udp", launch: false });
    } else if (LAUNCHES.includes(kind) && (prefix === undefined || prefix === "tcp")) {
      add({ id: kind, kind: kind as LaunchKind, channel: "tcp", launch: true });
    } else {
      return `Unknown cost scenario '${name}': expected [tcp:|tls:|unix:]rr64, stream or stream-256k, handshake, udp, startup, startup-package or idle`;
    }
  }
  return out;
}

/** What the load generator is asked for one slice of `s`. */
export function sliceJob(s: CostScenario, connections: number): Job {
  switch (s.kind as SliceKind) {
    case "rr64":
      return { mode: "rr", connections, size: 64 };
    case "stream":
      return { mode: "stream", connections: 4, size: 65536 };
    case "stream-256k":
      return { mode: "stream", connections: 4, size: 65536, window: SMALL_WINDOW };
    case "handshake":
      // Eight connect-handshake-echo-close loops at once, as churn runs.
      return { mode: "handshake", connections: 8, size: 64 };
    case "udp":
      return { mode: "udp", connections, size: 64 };
  }
}

/** The figures a scenario's measurements yield; `rate` first, as the tables print them. */
export function figureSpecs(s: CostScenario): FigureSpec[] {
  if (s.kind === "startup" || s.kind === "startup-package") return [{ name: "ms", converge: true, difference: true }];
  if (s.kind === "idle") return [{ name: "kib", converge: true, difference: true }];
  const specs: FigureSpec[] = [{ name: "rate", converge: true }, { name: "cpu", converge: true }];
  // The median and p99 hold the run like the rate; p99.9 is printed with its interval but
  // does not, since a 0.5 s slice holds a few hundred samples past it and one collection moves it.
  if (s.kind === "rr64") specs.push({ name: "p50", converge: true }, { name: "p99", converge: true }, { name: "p999", converge: false });
  return specs;
}

/**
 * One slice's figures: its rate (messages, bytes or handshakes per second), the server's
 * CPU seconds per unit of it and, for rr64, its latency percentiles (µs).
 *
 * @param s The scenario.
 * @param run The slice.
 * @returns Its figures, or undefined when nothing came back (a starved slice).
 */
export function sliceFigures(s: CostScenario, run: ScenarioRun): Record<string, number> | undefined {
  const units = s.kind === "stream" || s.kind === "stream-256k" ? run.bytes : run.operations;
  if (!(units > 0 && run.seconds > 0)) return undefined;
  const f: Record<string, number> = { rate: units / run.seconds, cpu: (run.serverCpu ?? NaN) / units };
  if (s.kind === "rr64" && run.latencyUs !== null) {
    f.p50 = run.latencyUs.p50;
    f.p99 = run.latencyUs.p99;
    f.p999 = run.latencyUs.p999;
  }
  return f;
}

/** How a scenario's rate reads: its unit and the scale from per second. */
export function rateUnit(s: CostScenario): { unit: string; scale: number } {
  if (s.kind === "stream" || s.kind === "stream-256k") return { unit: "MB/s", scale: 1e-6 };
  if (s.kind === "handshake") return { unit: "handshakes/s", scale: 1 };
  if (s.kind === "startup" || s.kind === "startup-package") return { unit: "ms", scale: 1 };
  if (s.kind === "idle") return { unit: "KiB/conn", scale: 1 };
  return { unit: "msg/s", scale: 1 };
}

/** The scenario as a chart or a sentence names it. */
export function scenarioLabel(s: CostScenario): string {
  const over = s.channel === "tls" ? "TLS " : s.channel === "unix" ? "Unix " : "";
  switch (s.kind) {
    case "rr64":
      return `${over}rr64`;
    case "stream":
      return `${over}stream`;
    case "stream-256k":
      return `${over}stream, 256 KiB window`;
    case "handshake":
      return "TLS handshakes";
    case "udp":
      return "UDP rr64";
    case "startup":
      return "start-up";
    case "startup-package":
      return "start-up, installed package";
    case "idle":
      return "idle memory";
  }
}
