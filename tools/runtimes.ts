import { fileURLToPath } from "node:url";

/** The project root, where the runtimes pinned in package.json live under node_modules/.bin. */
export const ROOT = fileURLToPath(new URL("../", import.meta.url));

const bin = (name: string) => `${ROOT}node_modules/.bin/${name}`;

/** How to start a TypeScript file on one runtime with one adapter. */
export interface Pair {
  /** e.g. "bun native", "deno node:net". */
  readonly name: string;
  readonly runtime: "bun" | "deno" | "node";
  readonly adapter: "native" | "node";
  /** The command and its leading arguments, before the script path. */
  readonly command: readonly string[];
}

const BUN = [bin("bun"), "run"];
const DENO = [bin("deno"), "run", "--allow-net", "--no-prompt"];
const NODE = [bin("node")];

/** Every runtime x adapter pair the project supports. */
export const PAIRS: readonly Pair[] = [
  { name: "bun native", runtime: "bun", adapter: "native", command: BUN },
  { name: "bun node:net", runtime: "bun", adapter: "node", command: BUN },
  { name: "deno native", runtime: "deno", adapter: "native", command: DENO },
  { name: "deno node:net", runtime: "deno", adapter: "node", command: DENO },
  { name: "node", runtime: "node", adapter: "native", command: NODE },
];

/** The runtime binaries, for tests that start them with other flags. */
export const BINARIES = { bun: bin("bun"), deno: bin("deno"), node: bin("node") } as const;

/**
 * The same pair with file access for Deno (`--allow-read --allow-write`), which Unix
 * sockets and TLS certificate files need; Bun and Node need no flags.
 *
 * @param pair A runtime x adapter pair.
 * @returns The pair, its command extended on Deno.
 */
export function withFileAccess(pair: Pair): Pair {
  if (pair.runtime !== "deno") return pair;
  return { ...pair, command: [...pair.command, "--allow-read", "--allow-write"] };
}
