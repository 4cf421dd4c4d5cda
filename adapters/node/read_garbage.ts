/**
 * Collects the garbage of `node:net` reads sooner, on the V8 runtimes.
 *
 * Node's and Deno's `node:net` allocate a fresh buffer for every read (Deno copies it once
 * more), and V8 frees a dead buffer only when its young generation, up to 64 MB, fills
 * with the small objects of each read. Until then glibc has handed out the memory and
 * keeps it once freed, so a server streaming a gigabyte a second climbs to 400–600 MB on
 * Deno's `node:net` and creeps on Node (docs/soak.md). The flags that fix it
 * (`--max-semi-space-size=1`) only work when given at start, which a library cannot do;
 * asking for a collection as bytes are read can, and costs little:
 *
 * - Node: a scavenge (young generation only, about 0.05 ms) after every 8 MiB read.
 * - Deno: its `gc` is a full collection, several milliseconds, so after every 64 MiB read
 *   and at most four times a second.
 * - Bun: nothing; its allocator gives the memory back by itself.
 *
 * Turned on with the first connection, not on import, so that importing twine changes nothing.
 *
 * @module
 */
import process from "node:process";

interface Policy {
  /** Bytes read between collections. */
  every: number;
  /** Milliseconds at least between collections. */
  minGapMs: number;
  /** What `gc` is given; Deno ignores it. */
  options: object;
}

const MiB = 1024 * 1024;

function policy(): Policy | undefined {
  if (process.versions.bun !== undefined) return undefined;
  if (process.versions.deno !== undefined) return { every: 64 * MiB, minGapMs: 250, options: {} };
  return { every: 8 * MiB, minGapMs: 0, options: { type: "minor" } };
}

let collect: ((bytes: number) => void) | null | undefined;

// Reads are added up here and handed to `collect` a batch at a time: countRead runs for every
// chunk read, and an addition and a comparison are all it then costs. The collections come at
// most one batch late, against a policy counted in MiB.
const BATCH = 64 * 1024;
let counted = 0;

/**
 * V8's gc function, or null where it cannot be had. Fetched when the first collection is due,
 * not imported: node:v8 and node:vm cost a start on Node about 2.5 ms, and a server that has not
 * read 8 MiB yet needs neither. Node before 20.16 has no getBuiltinModule and goes without.
 */
function exposeGc(): ((options: object) => void) | null {
  const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (builtin === undefined) return null;
  try {
    const v8 = builtin("node:v8") as typeof import("node:v8");
    const vm = builtin("node:vm") as typeof import("node:vm");
    // Exposing gc affects contexts made from now on, not the program's own; this one
    // new context is where the function comes from.
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = vm.runInNewContext("gc");
    return typeof gc === "function" ? (gc as (options: object) => void) : null;
  } catch {
    return null;
  }
}

function create(): ((bytes: number) => void) | null {
  const p = policy();
  if (p === undefined) return null;
  let gc: ((options: object) => void) | null | undefined;
  let read = 0;
  let last = 0;
  return (bytes) => {
    if ((read += bytes) < p.every) return;
    const now = performance.now();
    if (now - last < p.minGapMs) return;
    read = 0;
    last = now;
    gc ??= exposeGc();
    gc?.(p.options);
  };
}

/**
 * Counts `bytes` read on some `node:net` socket and collects garbage when enough have
 * been read (see the module's notes). Process-wide: every socket counts toward one total.
 */
export function countRead(bytes: number): void {
  if ((counted += bytes) >= BATCH) settle();
}

function settle(): void {
  const bytes = counted;
  counted = 0;
  if (collect === undefined) collect = create();
  collect?.(bytes);
}

/**
 * Turns the collections off (or on again) for this process, for a program that tunes V8 itself
 * (started with `--max-semi-space-size=1`, say). On Bun there are none to turn off.
 *
 * @param enabled `false` to stop asking V8 for collections as `node:net` sockets read; `true` to ask again.
 * @example
 * ```ts
 * import { collectReadGarbage } from "../../mod.ts";
 * collectReadGarbage(false);
 * ```
 */
export function collectReadGarbage(enabled: boolean): void {
  collect = enabled ? create() : null;
  counted = 0;
}
