/**
 * How `--workers` shares one port on this runtime: each worker binds it with `reusePort`, or,
 * where Node ignores that option (before 22.12), a `node:cluster` primary binds it and hands
 * connections to its workers.
 *
 * @module
 */
import type { Runtime } from "../adapters/runtime.ts";
import { reusePortUnsupported } from "../adapters/node/reuse_port.ts";

/** `reuse-port`: every worker listens with `SO_REUSEPORT`; `cluster`: the supervisor is a `node:cluster` primary. */
export type WorkerMode = "reuse-port" | "cluster";

/**
 * The way workers share the port: `cluster` exactly where {@link reusePortUnsupported} says
 * `reusePort` cannot work (Node before 22.12, and 23.0), never on Bun or Deno.
 *
 * @param runtime The runtime's name and version, as `detectRuntime()` gives them.
 * @returns `cluster` on such a Node, else `reuse-port`.
 * @example
 * ```ts
 * import { workerMode } from "./worker_mode.ts";
 * workerMode({ name: "node", version: "20.20.2" }); // "cluster"
 * workerMode({ name: "node", version: "22.12.0" }); // "reuse-port"
 * ```
 */
export function workerMode(runtime: Runtime): WorkerMode {
  return reusePortUnsupported(runtime) === undefined ? "reuse-port" : "cluster";
}
