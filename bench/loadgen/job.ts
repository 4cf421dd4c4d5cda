/** What the runner asks of one load generator process, and what it reports back. */
export type Scenario = "rr" | "stream" | "churn" | "idle" | "udp";

export interface Job {
  scenario: Scenario;
  host: string;
  port: number;
  /** Connections (rr, stream, idle) or concurrent connect loops (churn). */
  connections: number;
  /** Message size in bytes (rr, churn) or chunk size (stream). */
  size: number;
  /** Measured seconds, after `warmup` seconds that are not counted. */
  duration: number;
  warmup: number;
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface Outcome {
  scenario: Scenario;
  /** Completed round trips (rr), cycles (churn) or held connections (idle) in the window. */
  operations: number;
  /** Bytes echoed back and verified in the window. */
  bytes: number;
  /** Length of the measured window in seconds. */
  seconds: number;
  /** Latency in microseconds, for rr and churn. */
  latencyUs: Latency | null;
  /** The load generator's own CPU use in the window, as a fraction of one core. */
  loadgenCpu: number;
  /** Every byte that came back was compared with what was sent. */
  verifiedBytes: number;
  errors: string[];
}
