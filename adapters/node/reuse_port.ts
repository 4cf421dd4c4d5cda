/**
 * Whether this runtime's `node:net` shares a port with `reusePort`. Node takes the option
 * from 22.12 (and 23.1) on; older versions ignore it without a word, so a second process on
 * the port fails with "address already in use", which says nothing of the cause.
 *
 * @module
 */
import process from "node:process";
import { detectRuntime, type Runtime } from "../runtime.ts";

/**
 * Why `reusePort` cannot work on this runtime, or `undefined` if it can. Bun and Deno take
 * it in every version twine supports; Node from 22.12 on, and on 23 from 23.1.
 *
 * @param runtime The runtime's name and version, as `detectRuntime()` gives them.
 * @returns One line such as `reusePort needs Node 22.12 or later (this is 20.20.2)`, or `undefined`.
 * @example
 * ```ts
 * import { reusePortUnsupported } from "./reuse_port.ts";
 * reusePortUnsupported({ name: "node", version: "20.20.2" }); // "reusePort needs Node 22.12 or later (this is 20.20.2)"
 * reusePortUnsupported({ name: "node", version: "22.12.0" }); // undefined
 * ```
 */
export function reusePortUnsupported(runtime: Runtime): string | undefined {
  if (runtime.name !== "node") return undefined;
  const [major, minor] = runtime.version.replace(/^v/, "").split(".").map(Number) as [number, number | undefined];
  // A version that cannot be read: let node:net decide rather than refuse a Node that may have it.
  if (!Number.isInteger(major) || !Number.isInteger(minor)) return undefined;
  const supported = major > 23 || (major === 23 && minor! >= 1) || (major === 22 && minor! >= 12);
  return supported ? undefined : `reusePort needs Node 22.12 or later (this is ${runtime.version})`;
}

/**
 * Whether this is a `node:cluster` worker on Node itself, whose shared listens go to the primary;
 * Bun's and Deno's clusters are not relied on.
 *
 * @returns Whether it is.
 */
export async function inClusterWorker(): Promise<boolean> {
  // A cluster worker always has its IPC channel; without one, node:cluster (about 2 ms of a
  // start on Node) is not loaded just to say no.
  if (detectRuntime().name !== "node" || process.send === undefined) return false;
  return (await import("node:cluster")).default.isWorker;
}
