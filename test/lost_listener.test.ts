import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, test } from "vitest";
import { PAIRS, withFileAccess } from "../tools/runtimes.ts";
import { makeTestCertificates } from "../tools/test_certs.ts";
import { run } from "./helpers/run.ts";

// Re-arming exists only on Deno's node:net: elsewhere listeners resume by themselves.
const pair = withFileAccess(PAIRS.find((p) => p.name === "deno node:net")!);
const certs = makeTestCertificates();
const dir = mkdtempSync(`${tmpdir()}/twl-`);

afterAll(() => {
  rmSync(certs.dir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

const ENDPOINTS = [
  { kind: "tcp", listen: () => "tcp:0:interface=127.0.0.1", shown: /127\.0\.0\.1:\d+/ },
  { kind: "ssl", listen: () => `ssl:0:privateKey=${certs.key}:certKey=${certs.cert}`, shown: /127\.0\.0\.1:\d+/ },
  { kind: "unix", listen: () => `unix:${dir}/${Math.random().toString(36).slice(2)}.sock`, shown: /unix:\S+\.sock/ },
];

/** Runs the echo CLI with its listener's handle broken, with env `LOST_AT` set or not. */
function brokenEcho(listen: string, lostAt: "start" | "later") {
  const command = ["env", `LOST_AT=${lostAt}`, ...pair.command, "--allow-env", "test/fixtures/lost_listener.ts", "--adapter", "node", "--listen", listen];
  return run(command, new Uint8Array(0), 30_000);
}

describe("deno node:net listener that can no longer be re-armed", () => {
  test.each(ENDPOINTS)("on $kind, is closed with one line and the CLI exits 1 rather than staying up without accepting", async ({ listen, shown }) => {
    const r = await brokenEcho(listen(), "later");
    const lines = r.stderr.split("\n").filter((line) => line !== "");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Stopped listening on ${shown.source}: cannot re-arm Deno's node:net listener \\(error -9\\), so it would stop accepting for good`));
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toMatch(/listening on/);
  });

  test.each(ENDPOINTS)("on $kind, is refused at start with one ListenError line and exit 1", async ({ listen, kind }) => {
    const endpoint = listen();
    const r = await brokenEcho(endpoint, "start");
    const where = kind === "unix" ? endpoint : "127\\.0\\.0\\.1:[1-9]\\d*";
    expect(r.stderr.trim()).toMatch(new RegExp(`^twine-echo: Cannot listen on ${where}: cannot re-arm Deno's node:net listener \\(its handle has no working listen or readStart\\), so it could stop accepting for good$`));
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toBe("");
  });
});
