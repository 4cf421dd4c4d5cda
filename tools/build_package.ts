/**
 * Builds the npm package's JavaScript into dist/ (`npm run build`, and `npm pack` through `prepack`).
 * The repository itself never needs this: everything in it runs the .ts sources.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { ROOT } from "./runtimes.ts";

const DIST = join(ROOT, "dist");

/** A relative specifier ending in .ts inside an import, export or import() of a declaration file. */
const TS_SPECIFIER = /((?:from|import\()\s*["'])(\.{1,2}\/[^"']*)\.ts(["'])/g;

/** Whether a line of emitted code is part of a comment (JSDoc examples keep their .ts imports). */
const COMMENT = /^\s*(\*|\/\*|\/\/)/;

function rewriteLines(text: string): string {
  return text
    .split("\n")
    .map((line) => (COMMENT.test(line) ? line : line.replace(TS_SPECIFIER, "$1$2.js$3")))
    .join("\n");
}

function hasTsSpecifier(text: string): boolean {
  return text.split("\n").some((line) => !COMMENT.test(line) && new RegExp(TS_SPECIFIER.source).test(line));
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).map((f) => join(dir, f));
}

rmSync(DIST, { recursive: true, force: true });
try {
  execFileSync(join(ROOT, "node_modules/.bin/tsc"), ["-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
} catch {
  console.error("build: Cannot compile the package: tsc failed (see above)");
  process.exit(1);
}
// tsc rewrites .ts to .js in the JavaScript but not in declarations (microsoft/TypeScript#61037); tools that
// read a .d.ts without TypeScript's own fallback would look for files that are not there. Same length, so
// the declaration maps stay right.
for (const file of files(DIST).filter((f) => f.endsWith(".d.ts"))) {
  const text = readFileSync(file, "utf8");
  const fixed = rewriteLines(text);
  if (fixed !== text) writeFileSync(file, fixed);
}
const leftover = files(DIST)
  .filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"))
  .filter((f) => hasTsSpecifier(readFileSync(f, "utf8")));
if (leftover.length > 0) {
  console.error(`build: Cannot ship dist: .ts specifiers left in ${leftover.join(", ")}`);
  process.exit(1);
}
