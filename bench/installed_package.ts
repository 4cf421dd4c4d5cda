/**
 * The npm package as a user installs it, for the start-up of the installed package: `npm pack`
 * (which builds dist/ first) and an offline install into an empty project, as test/package does.
 * Beside it, the bare servers as JavaScript: the package's JavaScript would otherwise be timed
 * against bare TypeScript, and Node spends tens of milliseconds loading its type stripper for a
 * `.ts` entry at all (267 against 130 ms for a one-line file here, on a loaded machine).
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { ROOT } from "../tools/runtimes.ts";

const NAME = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string }).name;

/** An installed copy of the package. */
export interface InstalledPackage {
  /** The installed echo CLI, compiled JavaScript: `…/node_modules/twine-net/dist/bin/echo.js`. */
  echo: string;
  /** `bench/bare/X.ts` as JavaScript, by that path. */
  bare: Record<string, string>;
  /** Removes the project and the tarball. */
  cleanup(): void;
}

/**
 * Packs the package and installs it offline into a new temporary project.
 *
 * @returns Where its echo CLI is.
 * @throws Error with npm's last line when packing or installing fails.
 */
export function installPackage(): InstalledPackage {
  const dir = mkdtempSync(join(tmpdir(), "twine-bench-package-"));
  const npm = (args: string[], cwd: string) => {
    try {
      execFileSync("npm", args, { cwd, stdio: ["ignore", "pipe", "pipe"], timeout: 300_000, encoding: "utf8" });
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim().split("\n").at(-1);
      throw new Error(`Cannot npm ${args[0]} the package: ${stderr || (error as Error).message}`);
    }
  };
  npm(["pack", "--pack-destination", dir], ROOT);
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`Cannot npm pack the package: no tarball in ${dir}`);
  const project = join(dir, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "bench-consumer", private: true, type: "module" }));
  npm(["install", "--offline", "--no-audit", "--no-fund", join(dir, tarball)], project);
  const bare: Record<string, string> = {};
  for (const file of readdirSync(join(ROOT, "bench/bare")).filter((f) => f.endsWith(".ts"))) {
    const js = join(project, file.replace(/\.ts$/, ".js"));
    // TypeScript's own transpiler, not node:module's stripTypeScriptTypes, which warns that it is experimental.
    const options = { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } };
    writeFileSync(js, ts.transpileModule(readFileSync(join(ROOT, "bench/bare", file), "utf8"), options).outputText);
    bare[`bench/bare/${file}`] = js;
  }
  return {
    echo: join(project, "node_modules", NAME, "dist", "bin", "echo.js"),
    bare,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A target's command with JavaScript in place of TypeScript: the installed package's echo CLI
 * for `bin/echo.ts`, the bare server's JavaScript for `bench/bare/X.ts`.
 *
 * @param command The command from the source tree.
 * @param pkg The installed package.
 * @returns The command that starts the same server from JavaScript.
 */
export function packageCommand(command: readonly string[], pkg: InstalledPackage): string[] {
  return command.map((arg) => (arg === "bin/echo.ts" ? pkg.echo : pkg.bare[arg] ?? arg));
}
