import { execFileSync } from "node:child_process";
import { expect, test } from "vitest";
import { BINARIES, ROOT } from "../tools/runtimes.ts";

test.each([
  ["bun", [BINARIES.bun, "run"], "bun bun"],
  ["deno", [BINARIES.deno, "run", "--allow-net"], "deno deno"],
  ["node", [BINARIES.node], "node:net node:net"],
])("%s picks its native adapter through loadAdapter() and listen()", (_name, command, expected) => {
  const out = execFileSync(command[0]!, [...command.slice(1), "test/fixtures/which_adapter.ts"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(out.trim()).toBe(expected);
});
