import { expect, test } from "vitest";
import { BINARIES } from "../tools/runtimes.ts";
import { run } from "./helpers/run.ts";

test("the transport benchmark streams through TCP, TLS and Unix on every pair and prints one row each", async () => {
  const r = await run([BINARIES.node, "bench/transports.ts", "--mib", "2", "--reps", "1"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const rows = r.stdout.toString().split("\n").filter((l) => /^\| (bun|deno|node)/.test(l));
  expect(rows.map((l) => l.split(" | ")[0])).toEqual(["| bun native", "| bun node:net", "| deno native", "| deno node:net", "| node"]);
  for (const row of rows) expect(row).toMatch(/^\| [^|]+ \| \d+ \(\d+–\d+\) \| \d+ \(\d+–\d+\) \| \d+ \(\d+–\d+\) \| [\d.]+ \| [\d.]+ \|$/);
});
