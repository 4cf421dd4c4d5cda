// twine-serve with a module of the tests' own (not echo) on every runtime and adapter: TCP, a Unix socket, TLS and a
// PROXY-protocol endpoint at once, served by two workers, then SIGTERM.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type net from "node:net";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, test } from "vitest";
import { BINARIES, PAIRS, type Pair, ROOT } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";
import { makeTestCertificates } from "../tools/test_certs.ts";
import { collect, connect, type Target } from "./helpers/client.ts";

const certs = makeTestCertificates();
const dir = mkdtempSync(`${tmpdir()}/tws-`);

afterAll(() => {
  rmSync(certs.dir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

/** The pair's command with what a supervisor of workers that read certificates and make Unix sockets needs on Deno. */
function serveCommand(pair: Pair, args: string[]): string[] {
  const runtime = pair.runtime === "deno"
    ? [BINARIES.deno, "run", "--allow-net", "--allow-read", "--allow-write", "--allow-run", "--allow-env", "--no-prompt"]
    : pair.command;
  return [...runtime, "bin/serve.ts", "test/fixtures/modules/reverser.ts", "--adapter", pair.adapter, ...args];
}

/** Sends `lines` (after an optional PROXY header), half-closes, and returns what came back. */
async function talk(target: Target, lines: string[], header = ""): Promise<string> {
  const sock: net.Socket = await connect(target);
  const reply = collect(sock);
  sock.end(header + lines.map((l) => `${l}\n`).join(""));
  const { received, error } = await reply;
  expect(error).toBeUndefined();
  return received.toString();
}

describe.each(PAIRS)("twine-serve MODULE on $name", (pair) => {
  test("serves tcp:, unix:, ssl: and haproxy:tcp: at once with --workers 2, every reply right, then one summary line and exit 0 on SIGTERM", async () => {
    const path = `${dir}/${pair.name.replace(/\W/g, "")}.sock`;
    const server = await startProcess(pair.name, serveCommand(pair, [
      "--listen", "tcp:0",
      "--listen", `unix:${path}`,
      "--listen", `ssl:0:privateKey=${certs.key}:certKey=${certs.cert}`,
      "--listen", "haproxy:tcp:0",
      "--workers", "2",
    ]));
    let connections = 0;
    let stopped: Awaited<ReturnType<typeof server.stop>> | undefined;
    try {
      const start = /^test\/fixtures\/modules\/reverser\.ts listening on (.*) \((\w+) [^,]+, adapter ([^,]+), 2 workers\)$/m.exec(server.output());
      expect(start, server.output()).not.toBeNull();
      const [tcp, proxied, tls, unix] = start![1]!.split(", ");
      expect(tcp).toBe(`127.0.0.1:${server.port}`);
      expect(proxied).toMatch(/^127\.0\.0\.1:\d+ \(PROXY\)$/);
      expect(tls).toMatch(/^ssl:127\.0\.0\.1:\d+$/);
      expect(unix).toBe(`unix:${path}`);
      const port = (where: string) => Number(/:(\d+)(?: \(PROXY\))?$/.exec(where)![1]);

      // Enough TCP connections that both workers serve some.
      const plain = await Promise.all(Array.from({ length: 20 }, (_, i) => talk(server.port, [`tcp ${i}`, "abc"])));
      for (const [i, reply] of plain.entries()) expect(reply).toBe(`hi 127.0.0.1\n${[...`tcp ${i}`].reverse().join("")}\ncba\n`);
      // A Unix socket's client has no name: the greeting names nobody.
      expect(await talk(path, ["unix é"])).toBe("hi \né xinu\n");
      expect(await talk({ tlsPort: port(tls!), ca: readFileSync(certs.ca, "utf8") }, ["over tls"])).toBe("hi 127.0.0.1\nslt revo\n");
      // The peer the protocol sees is the one the PROXY header names.
      const header = `PROXY TCP4 203.0.113.7 127.0.0.1 51000 ${port(proxied!)}\r\n`;
      expect(await talk(port(proxied!), ["proxied"], header)).toBe("hi 203.0.113.7\ndeixorp\n");
      connections = 20 + 1 + 1 + 1;
      const workers = [...server.output().matchAll(/^Worker \d+ started \(pid \d+\)$/gm)];
      expect(workers).toHaveLength(2);
    } finally {
      stopped = await server.stop("SIGTERM");
    }
    expect(stopped.code).toBe(0);
    expect(stopped.output).toMatch(/^Stopping on SIGTERM: 2 workers draining for up to 5 s \(SIGTERM again stops at once\)$/m);
    const summaries = stopped.output.split("\n").filter((line) => line.startsWith("Stopped"));
    expect(summaries).toHaveLength(1);
    const m = /^Stopped on SIGTERM: served (\d+) connections over 2 workers \((\d+) \+ (\d+) connections\)$/.exec(summaries[0]!);
    expect(m, summaries[0]).not.toBeNull();
    expect(Number(m![1])).toBe(connections);
    expect(Number(m![2]) + Number(m![3])).toBe(connections);
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(Number(m![3])).toBeGreaterThan(0);
    // Nothing but the lines above: no worker complained.
    expect(stopped.output.split("\n").filter((l) => l !== "" && !/^(Worker \d+ started|Stopping on|Stopped on|test\/fixtures)/.test(l))).toEqual([]);
  });
});

// Deno: workers get what their supervisor was granted, a grant for some paths too (the project and the sockets' directory here).
test("deno workers get the supervisor's read and write grants for some paths only, and serve the module over tcp: and unix:", async () => {
  const sockets = mkdtempSync(`${tmpdir()}/twp-`);
  try {
    const path = `${sockets}/s.sock`;
    const server = await startProcess("deno partial", [
      BINARIES.deno, "run", "--allow-net", "--allow-run", "--allow-env", "--no-prompt",
      `--allow-read=${ROOT},${sockets}`, `--allow-write=${sockets}`,
      "bin/serve.ts", "test/fixtures/modules/reverser.ts", "--listen", "tcp:0", "--listen", `unix:${path}`, "--workers", "2",
    ]);
    try {
      expect(server.output()).toMatch(/ \(deno [^,]+, adapter deno, 2 workers\)$/m);
      expect(await talk(server.port, ["abc"])).toBe("hi 127.0.0.1\ncba\n");
      expect(await talk(path, ["xyz"])).toBe("hi \nzyx\n");
    } finally {
      const { code, output } = await server.stop();
      expect(code, output).toBe(0);
      expect(output).toMatch(/^Stopped on SIGTERM: served 2 connections over 2 workers/m);
    }
  } finally {
    rmSync(sockets, { recursive: true, force: true });
  }
});
