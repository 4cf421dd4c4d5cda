// What every command shares: its own name in usage and errors, one wording for a flag it does not know, --version.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { VERSION } from "../bin/version.ts";
import { BINARIES, ROOT } from "../tools/runtimes.ts";
import { run } from "./helpers/run.ts";

const COMMANDS = [
  ["twine-echo", "bin/echo.ts"],
  ["twine-serve", "bin/serve.ts"],
  ["twine-echo-client", "bin/echo-client.ts"],
] as const;

test("VERSION is the version package.json and deno.json give", () => {
  for (const file of ["package.json", "deno.json"]) {
    expect((JSON.parse(readFileSync(join(ROOT, file), "utf8")) as { version: string }).version, file).toBe(VERSION);
  }
});

describe.each(COMMANDS)("%s", (name, script) => {
  test("--version prints its name and the package's version, exit 0", async () => {
    const r = await run([BINARIES.node, script, "--version"]);
    expect([r.code, r.stdout.toString(), r.stderr]).toEqual([0, `${name} ${VERSION}\n`, ""]);
  });

  // Regression: the echo client said "Unknown option '--bogus'. To specify a positional argument…" where the server said "Unknown option --bogus".
  test("an unknown flag is one line in the same words as every other command's, exit 2", async () => {
    const r = await run([BINARIES.node, script, "--bogus"]);
    expect([r.code, r.stderr]).toEqual([2, `${name}: Unknown option --bogus (see --help)\n`]);
  });

  // Regression: --help said "Usage: echo" and errors "echo:".
  test("--help names the command", async () => {
    const r = await run([BINARIES.node, script, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(new RegExp(`^Usage: ${name} `));
    expect(r.stdout.toString()).toMatch(/^\s+--version\b/m);
  });
});

// Regression: the client's --help left out the client certificate a tls: endpoint takes.
test("twine-echo-client --help names every parameter of a tls: endpoint", async () => {
  const help = (await run([BINARIES.node, "bin/echo-client.ts", "--help"])).stdout.toString();
  for (const name of ["host=", "port=", "trustRoots=", "servername=", "alpn=", "certificate=", "privateKey=", "timeout="]) expect(help).toContain(name);
});

test("twine-serve without a module says what is missing in one line, exit 2", async () => {
  const r = await run([BINARIES.node, "bin/serve.ts", "--port", "0"]);
  expect([r.code, r.stderr]).toEqual([2, "twine-serve: Missing MODULE: a module's path or a built-in service's name (see --help)\n"]);
});
