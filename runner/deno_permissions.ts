/**
 * Deno's permissions, as the runner needs them: a one-line refusal that names the flag to add,
 * and the flags that give a worker what its supervisor has.
 *
 * @module
 */

import process from "node:process";

type PermissionName = "net" | "read" | "write" | "env" | "run" | "sys" | "ffi";

interface DenoPermissions {
  querySync(descriptor: { name: PermissionName; path?: string; host?: string; variable?: string; command?: string }): {
    state: "granted" | "denied" | "prompt";
  };
}

function permissions(): DenoPermissions | undefined {
  return (globalThis as { Deno?: { permissions: DenoPermissions } }).Deno?.permissions;
}

/**
 * Whether this runtime lets the program do something: always outside Deno.
 *
 * @param name The permission, as in `--allow-NAME`.
 * @param target The path, host or variable it is for, if any.
 * @returns Whether it is granted.
 */
export function granted(name: PermissionName, target?: string): boolean {
  const deno = permissions();
  if (deno === undefined) return true;
  const key = name === "read" || name === "write" ? "path" : name === "net" ? "host" : name === "env" ? "variable" : "command";
  try {
    return deno.querySync(target === undefined ? { name } : { name, [key]: target }).state === "granted";
  } catch {
    return false;
  }
}

/** What a worker must be able to do besides what its supervisor could do everywhere. */
export interface WorkerNeeds {
  /** Files it reads: the module, certificates. */
  readonly read: readonly string[];
  /** Files it creates: Unix sockets. */
  readonly write: readonly string[];
  /** `host:port` it listens on or connects to. */
  readonly net: readonly string[];
  /** Environment variables it reads. */
  readonly env: readonly string[];
}

/**
 * The `deno run` flags that give a worker the permissions its supervisor has: `--allow-NAME`
 * for each granted everywhere, and for one granted only for some paths, hosts or variables,
 * those of `needs` that it is granted for.
 *
 * @param needs What the worker needs.
 * @returns The flags, empty outside Deno.
 */
export function workerPermissionFlags(needs: WorkerNeeds): string[] {
  if (permissions() === undefined) return [];
  const flags: string[] = [];
  for (const name of ["net", "read", "write", "env", "run", "sys", "ffi"] as const) {
    if (granted(name)) {
      flags.push(`--allow-${name}`);
      continue;
    }
    const wanted = name === "net" || name === "read" || name === "write" || name === "env" ? needs[name] : [];
    // A path's highest granted ancestor: a module's own imports and files lie beside it, under what was granted.
    const some = [...new Set(wanted.filter((target) => granted(name, target)).map((target) => name === "read" || name === "write" ? grantedRoot(name, target) : target))];
    if (some.length > 0) flags.push(`--allow-${name}=${some.join(",")}`);
  }
  return flags;
}

function grantedRoot(name: "read" | "write", path: string): string {
  // Fetched here, on Deno alone (which has getBuiltinModule), rather than imported: node:path
  // costs Bun's start about a millisecond, and only a supervisor on Deno gets here.
  const { dirname, resolve } = process.getBuiltinModule("node:path");
  let root = resolve(path);
  for (let up = dirname(root); up !== root && granted(name, up); up = dirname(up)) root = up;
  return root;
}
