/** Compiles the C load generator and ceiling server once, into node_modules/.cache. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { ROOT } from "../tools/runtimes.ts";

const OUT = `${ROOT}node_modules/.cache/twine-bench`;

function build(source: string, name: string): string {
  const src = `${ROOT}${source}`;
  const bin = `${OUT}/${name}`;
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  mkdirSync(OUT, { recursive: true });
  try {
    execFileSync("cc", ["-O2", "-Wall", "-o", bin, src], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "").split("\n")[0];
    throw new Error(`Cannot build ${source} with cc: ${stderr || (error as Error).message}`);
  }
  return bin;
}

/** @returns Paths of the built load generator and C echo server. */
export function buildNative(): { loadgen: string; cEcho: string } {
  return { loadgen: build("bench/loadgen/loadgen.c", "loadgen"), cEcho: build("bench/bare/c_echo.c", "c_echo") };
}
