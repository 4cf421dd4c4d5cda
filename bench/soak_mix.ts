/** The repeating mix of load the soak drives at each server, one load generator job after another. */
import type { Job } from "./scenarios.ts";

/** One step of the mix: a load generator job and how long it runs. */
export interface MixStep {
  /** Short name for the report. */
  name: string;
  job: Job;
  seconds: number;
}

/**
 * The mix, in order (about 10 s a round): small request/response, bulk streaming,
 * a burst of 400 connections, slow readers with 8 MiB in flight each, connection
 * churn, and peers that reset mid-transfer.
 */
export const MIX: readonly MixStep[] = [
  { name: "rr 50x64B", job: { mode: "rr", connections: 50, size: 64 }, seconds: 3 },
  { name: "stream 4x64KiB", job: { mode: "stream", connections: 4, size: 65536 }, seconds: 2 },
  { name: "rr 400x1KiB", job: { mode: "rr", connections: 400, size: 1024 }, seconds: 1 },
  { name: "slow readers 4x8MiB", job: { mode: "slow", connections: 4, size: 65536 }, seconds: 1 },
  { name: "churn 8x64B", job: { mode: "churn", connections: 8, size: 64 }, seconds: 1 },
  { name: "resets 16x64KiB", job: { mode: "reset", connections: 16, size: 65536 }, seconds: 1 },
];
