import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, test } from "vitest";
import { echo } from "./helpers/client.ts";
import { echoSuite } from "./helpers/echo_suite.ts";
import { run } from "./helpers/run.ts";
import { unprivileged } from "./helpers/unprivileged.ts";
import { withServer } from "./helpers/with_server.ts";
import { BINARIES, PAIRS, withFileAccess } from "../tools/runtimes.ts";
import { startServer } from "../tools/server_process.ts";

// Short: sun_path holds 107 bytes, and the test directory's name counts.
const dir = mkdtempSync(`${tmpdir()}/twu-`);
let serial = 0;
const nextPath = () => `${dir}/${++serial}.sock`;
// Root may bind anywhere, so a root test run drops to nobody where permissions are the point.
const asUser = unprivileged();

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Leaves a socket file behind with nobody listening on it, as a killed server does. */
function staleSocket(path: string): void {
  const script = `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`;
  try {
    execFileSync(BINARIES.node, ["-e", script], { timeout: 10_000 });
  } catch {
    // Killed on purpose.
  }
}

describe.each(PAIRS.map(withFileAccess))("$name over a Unix socket", (pair) => {
  const path = nextPath();
  echoSuite(
    () => startServer(pair, "bin/echo.ts", ["--grace", "2", "--listen", `unix:${path}`]),
    ({ code, output }) => {
      expect(output).toMatch(/Stopped on SIGTERM: served \d+ connections?, echoed \d+ bytes?/);
      expect(code).toBe(0);
      // Removed on close.
      expect(existsSync(path)).toBe(false);
    },
    () => path,
  );
});

describe.each(PAIRS.map(withFileAccess))("$name Unix socket files", (pair) => {
  const echoCli = (...args: string[]) => [...pair.command, "bin/echo.ts", "--adapter", pair.adapter, ...args];

  test("the socket file gets the mode asked for, and the start line names it after the TCP endpoint", async () => {
    const path = nextPath();
    await withServer(startServer(pair, "bin/echo.ts", ["--listen", `unix:${path}:mode=660`]), async (server) => {
      expect(statSync(path).mode & 0o777).toBe(0o660);
      expect(server.output()).toMatch(new RegExp(`listening on 127\\.0\\.0\\.1:${server.port}, unix:${path} \\(`));
      const r = await echo(path, new TextEncoder().encode("over unix"));
      expect(r.received.toString()).toBe("over unix");
    });
  });

  test("a stale socket file from a dead server is replaced", async () => {
    const path = nextPath();
    staleSocket(path);
    expect(statSync(path).isSocket()).toBe(true);
    await withServer(startServer(pair, "bin/echo.ts", ["--listen", `unix:${path}`]), async () => {
      const r = await echo(path, new TextEncoder().encode("fresh"));
      expect(r.received.toString()).toBe("fresh");
    });
  });

  test("a live server's socket is not stolen: one line, exit 1, and the first server still serves", async () => {
    const path = nextPath();
    await withServer(startServer(pair, "bin/echo.ts", ["--listen", `unix:${path}`]), async () => {
      const second = await run(echoCli("--listen", `unix:${path}`));
      expect(second.stderr).toBe(`twine-echo: Cannot listen on unix:${path}: address already in use by a live server\n`);
      expect(second.code).toBe(1);
      const r = await echo(path, new TextEncoder().encode("still mine"));
      expect(r.received.toString()).toBe("still mine");
    });
  });

  test("a path longer than the OS allows is refused with one line", async () => {
    const path = `${dir}/${"x".repeat(120)}.sock`;
    const r = await run(echoCli("--listen", `unix:${path}`));
    expect(r.stderr).toMatch(/^twine-echo: Cannot listen on unix:\S+: path is \d+ bytes, longer than the 107 the OS allows\n$/);
    expect(r.code).toBe(1);
  });

  test.skipIf("reason" in asUser)(`a directory without write permission is refused with one line${"reason" in asUser ? ` (skipped: ${asUser.reason})` : ""}`, async () => {
    if ("reason" in asUser) return;
    const parent = mkdtempSync(`${tmpdir()}/twl-`);
    try {
      chmodSync(parent, 0o711);
      const locked = `${parent}/locked`;
      mkdirSync(locked);
      if (asUser.owner !== undefined) chownSync(locked, asUser.owner.uid, asUser.owner.gid);
      chmodSync(locked, 0o500);
      const r = await run(asUser.wrap(echoCli("--listen", `unix:${locked}/s.sock`)));
      expect(r.stderr).toBe(`twine-echo: Cannot listen on unix:${locked}/s.sock: permission denied (the directory must be writable)\n`);
      expect(r.code).toBe(1);
      expect(existsSync(`${locked}/s.sock`)).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  // Regression: libuv turns bind's ENOENT into EACCES, so Node said "permission denied" where Bun and Deno said "no such directory".
  test("a path in a directory that does not exist is refused with one line saying so, not as a permission problem", async () => {
    const path = `${dir}/missing${++serial}/s.sock`;
    const r = await run(echoCli("--listen", `unix:${path}`));
    expect(r.stderr).toBe(`twine-echo: Cannot listen on unix:${path}: no such directory\n`);
    expect(r.code).toBe(1);
  });

  test("a path through a regular file is refused with one line", async () => {
    const file = `${dir}/plain${++serial}`;
    writeFileSync(file, "");
    const r = await run(echoCli("--listen", `unix:${file}/s.sock`));
    expect(r.stderr).toBe(`twine-echo: Cannot listen on unix:${file}/s.sock: a component of the path is not a directory\n`);
    expect(r.code).toBe(1);
  });

  test("the client reports a missing socket as ENOENT and a stale one as refused", async () => {
    const client = (path: string) => [...pair.command, "bin/echo-client.ts", "--adapter", pair.adapter, "--connect", `unix:${path}`, "--message", "x"];
    const missing = nextPath();
    const r1 = await run(client(missing));
    expect(r1.stderr).toBe(`twine-echo-client: Cannot connect to unix:${missing}: no such socket file\n`);
    expect(r1.code).toBe(1);
    const stale = nextPath();
    staleSocket(stale);
    const r2 = await run(client(stale));
    expect(r2.stderr).toBe(`twine-echo-client: Cannot connect to unix:${stale}: connection refused\n`);
    expect(r2.code).toBe(1);
  });
});

describe("each runtime's client against each runtime's server over a Unix socket", () => {
  test.each(PAIRS.map(withFileAccess))("$name client echoes 1 MiB exactly through every server", async (pair) => {
    const payload = new Uint8Array(1024 * 1024).map((_, i) => (i * 7919) % 251);
    for (const serverPair of PAIRS.map(withFileAccess)) {
      const path = nextPath();
      await withServer(startServer(serverPair, "bin/echo.ts", ["--listen", `unix:${path}`, "--grace", "1"]), async () => {
        const r = await run([...pair.command, "bin/echo-client.ts", "--adapter", pair.adapter, "--connect", `unix:path=${path}`], payload);
        expect({ server: serverPair.name, code: r.code, stderr: r.stderr }).toEqual({ server: serverPair.name, code: 0, stderr: "" });
        expect(Buffer.from(payload).equals(r.stdout)).toBe(true);
      });
    }
  });
});
