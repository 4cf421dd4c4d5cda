import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, test } from "vitest";
import { collect, connect, echo } from "./helpers/client.ts";
import { run } from "./helpers/run.ts";
import { withServer } from "./helpers/with_server.ts";
import { PAIRS, withFileAccess } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";

const dir = mkdtempSync(`${tmpdir()}/twc-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(PAIRS.map(withFileAccess))("echo CLI endpoints on $name", (pair) => {
  const cli = (...args: string[]) => [...pair.command, "bin/echo.ts", "--adapter", pair.adapter, ...args];

  test("serves TCP, TCP over IPv6 and a Unix socket from one process, listing each on the start line", async () => {
    const path = `${dir}/${pair.name.replace(/\W/g, "")}.sock`;
    const started = startProcess(pair.name, cli("--grace", "1", "--listen", "unix:" + path, "--listen", "tcp6:0", "--listen", "tcp:0"));
    await withServer(started, async (server) => {
      const line = /Echo server listening on (.*) \(/.exec(server.output())![1]!;
      const [tcp, tcp6, unix] = line.split(", ");
      expect(tcp).toBe(`127.0.0.1:${server.port}`);
      expect(tcp6).toMatch(/^\[::1\]:\d+$/);
      expect(unix).toBe(`unix:${path}`);
      const six = Number(/:(\d+)$/.exec(tcp6!)![1]);
      const sock = await connect(six, "::1");
      const reply = collect(sock);
      sock.end("six");
      expect((await reply).received.toString()).toBe("six");
      expect((await echo(path, new TextEncoder().encode("unix"))).received.toString()).toBe("unix");
      expect((await echo(server.port, new TextEncoder().encode("four"))).received.toString()).toBe("four");
    });
  });

  test.each([
    [["--listen", "sctp:53"], "twine-echo: Cannot parse server endpoint 'sctp:53': unknown endpoint type 'sctp' (expected tcp, tcp6, ssl, unix, udp)"],
    [["--listen", "udp:0:backlog=1"], "twine-echo: Cannot parse server endpoint 'udp:0:backlog=1': unknown parameter 'backlog' for udp (expected port, interface)"],
    [["--listen", "tcp:99999"], "twine-echo: Cannot parse server endpoint 'tcp:99999': bad port '99999' (expected an integer from 0 to 65535)"],
    [["--listen", "tcp:0:colour=red"], "twine-echo: Cannot parse server endpoint 'tcp:0:colour=red': unknown parameter 'colour' for tcp (expected port, interface, backlog)"],
    [["--listen", "unix:"], "twine-echo: Cannot parse server endpoint 'unix:': missing value for address"],
  ])("%j is a usage error with one line naming the wrong part", async (args, message) => {
    const r = await run(cli(...args));
    expect(r.stderr).toBe(`${message}\n`);
    expect(r.code).toBe(2);
  });
});
