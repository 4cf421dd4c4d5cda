/**
 * Which runtime this is. Kept apart so the rest of the code asks one place.
 *
 * @module
 */

/** A runtime twine runs on. */
export type RuntimeName = "bun" | "deno" | "node";

/** The runtime's name and version. */
export interface Runtime {
  readonly name: RuntimeName;
  readonly version: string;
}

interface Globals {
  Bun?: { version: string };
  Deno?: { version: { deno: string } };
  process?: { versions?: { node?: string } };
}

/**
 * Detects the runtime from its globals.
 *
 * @returns The runtime's name and version.
 */
export function detectRuntime(): Runtime {
  const g = globalThis as Globals;
  if (g.Bun !== undefined) return { name: "bun", version: g.Bun.version };
  if (g.Deno !== undefined) return { name: "deno", version: g.Deno.version.deno };
  return { name: "node", version: g.process?.versions?.node ?? "unknown" };
}

/** Which adapter to use: the runtime's own API, or its `node:net`. */
export type AdapterChoice = "native" | "node";
