import { describe, expect } from "vitest";
import { buildNative } from "../bench/build.ts";
import { echoSuite } from "./helpers/echo_suite.ts";
import { BINARIES } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";

// The benchmark's reference rows only mean something if they are correct too.
const BARE = [
  { name: "bare bun", command: () => [BINARIES.bun, "run", "bench/bare/bun.ts"] },
  { name: "bare deno", command: () => [BINARIES.deno, "run", "--allow-net", "bench/bare/deno.ts"] },
  { name: "bare node", command: () => [BINARIES.node, "bench/bare/node.ts"] },
  { name: "bare c", command: () => [buildNative().cEcho] },
];

describe.each(BARE)("$name", (bare) => {
  echoSuite(
    () => startProcess(bare.name, [...bare.command(), "--port", "0"]),
    ({ code, output }) => {
      expect(output).toMatch(/listening on/);
      expect(code === 0 || code === null).toBe(true);
    },
  );
});
