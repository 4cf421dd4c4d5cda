/** The scenarios the benchmark drives, and how each becomes a load generator job. */
export type ScenarioName = "rr1" | "rr64" | "stream" | "churn" | "idle" | "startup" | "udp";

/** In run order; idle runs last, on a fresh server of its own (see run.ts). */
export const SCENARIOS: readonly ScenarioName[] = ["startup", "rr1", "rr64", "stream", "churn", "idle"];

/**
 * Scenarios run only when named in --scenarios: udp needs servers started with --udp
 * and runs on twine's targets only (the bare servers speak TCP).
 */
export const OPT_IN_SCENARIOS: readonly ScenarioName[] = ["udp"];

/**
 * The scenarios each transport runs: the load generator's TLS mode has no churn or idle
 * (connecting is a handshake, not what the TLS rows measure), and UDP is UDP.
 */
export const TRANSPORT_SCENARIOS: Record<"tcp" | "tls" | "unix", readonly ScenarioName[]> = {
  tcp: [...SCENARIOS, ...OPT_IN_SCENARIOS],
  tls: ["startup", "rr1", "rr64", "stream"],
  unix: SCENARIOS,
};

/** What the load generator is asked for one scenario. */
export interface Job {
  mode: "rr" | "stream" | "churn" | "handshake" | "idle" | "udp" | "slow" | "reset";
  connections: number;
  size: number;
  /** stream: bytes in flight per connection (the load generator's --window); 4 MiB when undefined. */
  window?: number;
  /** Source addresses to connect from, `ADDR/COUNT` (the load generator's --source; see sources.ts). */
  source?: string;
}

export interface ScenarioOptions {
  connections: number;
  size: number;
  streamConnections: number;
  chunk: number;
  churnConcurrency: number;
  idle: number;
}

/** @returns The load generator job for `name`, or null for `startup`, which the runner times itself. */
export function jobFor(name: ScenarioName, o: ScenarioOptions): Job | null {
  switch (name) {
    case "rr1":
      return { mode: "rr", connections: 1, size: o.size };
    case "rr64":
      return { mode: "rr", connections: o.connections, size: o.size };
    case "stream":
      return { mode: "stream", connections: o.streamConnections, size: o.chunk };
    case "churn":
      return { mode: "churn", connections: o.churnConcurrency, size: o.size };
    case "idle":
      return { mode: "idle", connections: o.idle, size: 1 };
    case "udp":
      return { mode: "udp", connections: o.connections, size: o.size };
    case "startup":
      return null;
  }
}
