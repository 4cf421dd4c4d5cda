/**
 * The npm package as a user installs it, for the start-up of the installed package: `npm pack`
 * (which builds dist/ first) and an offline install into an empty project, as test/package does.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../tools/runtimes.ts";

const NAME = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string }).name;

/** An installed copy of the package. */
export interface InstalledPackage {
  /** The installed echo CLI, compiled JavaScript: `…/node_modules/twine-net/dist/bin/echo.js`. */
  echo: string;
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
  return {
    echo: join(project, "node_modules", NAME, "dist", "bin", "echo.js"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A twine target's command with the installed package's echo CLI in place of `bin/echo.ts`.
 *
 * @param command The command from the source tree.
 * @param echo The installed echo CLI.
 * @returns The command that starts the installed package the same way.
 */
export function packageCommand(command: readonly string[], echo: string): string[] {
  return command.map((arg) => (arg === "bin/echo.ts" ? echo : arg));
}
