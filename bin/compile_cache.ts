/**
 * Turns on Node's module compile cache for the commands, before they load the rest of twine:
 * Node then keeps each module's stripped and compiled code on disk and a later start reuses it
 * (about a third of a start on Node). Imported for its effect, first, by each command, which
 * then loads its own code with `import()`: static imports are all compiled before any of them
 * runs. Bun and Deno keep their own caches; `NODE_DISABLE_COMPILE_CACHE=1` turns it off, as
 * it does for Node's own.
 *
 * @module
 */
import process from "node:process";

if (process.versions.bun === undefined && process.versions.deno === undefined && process.env.NODE_DISABLE_COMPILE_CACHE === undefined) {
  // Imported on Node alone: loading node:module costs Deno milliseconds. Older Node has no compile
  // cache, and a cache directory that cannot be written only leaves it off.
  const { default: module } = await import("node:module");
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
}
