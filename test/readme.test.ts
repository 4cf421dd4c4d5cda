// The README's examples, so that they are known to run.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { expect, test } from "vitest";
import { EchoProtocol, MemoryTransport } from "twine";
import { collect, connect } from "./helpers/client.ts";
import { BINARIES, ROOT } from "../tools/runtimes.ts";

test("echo survives one-byte chunks and a slow peer", () => {
  const t = new MemoryTransport({ writeLimit: 3 }); // the "socket" takes 3 bytes, then waits for drain()
  t.connect(new EchoProtocol());
  for (const byte of new TextEncoder().encode("hello")) t.receive(Uint8Array.of(byte));
  t.receiveEnd(); // the peer half-closes
  t.drain();
  expect(t.text()).toBe("hello");
  expect(t.disconnected).toBe(true);
});

test.each([
  ["bun", [BINARIES.bun, "run"]],
  ["deno", [BINARIES.deno, "run", "--allow-net"]],
  ["node", [BINARIES.node]],
])("the Upper example runs on %s", async (_name, command) => {
  const child = spawn(command[0]!, [...command.slice(1), "examples/upper.ts", "0"], { cwd: ROOT });
  try {
    const [line] = (await once(child.stdout, "data")) as [Buffer];
    const port = Number(/listening on (\d+)/.exec(line.toString())?.[1]);
    const sock = await connect(port);
    const result = collect(sock);
    sock.end("shout\n");
    expect((await result).received.toString()).toBe("hello 127.0.0.1\nSHOUT\n");
  } finally {
    child.kill();
  }
});

test("README names no flag the CLI does not have", () => {
  const help = execFileSync(BINARIES.node, ["bin/echo.ts", "--help"], { cwd: ROOT, encoding: "utf8" });
  for (const flag of ["--port", "--host", "--adapter", "--grace", "--help"]) expect(help).toContain(flag);
});
