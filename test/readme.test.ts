// The README's examples, so that they are known to run.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import ts from "typescript";
import { expect, test } from "vitest";
import * as twine from "../mod.ts";
import * as runner from "../runner/mod.ts";
import { EchoProtocol, MemoryTransport } from "../mod.ts";
import { collect, connect } from "./helpers/client.ts";
import { BINARIES, ROOT } from "../tools/runtimes.ts";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** The bodies of the README's ```ts blocks. */
function tsBlocks(): string[] {
  return [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/**
 * The class `name` as a page's ```ts block defines it, compiled and evaluated with twine's
 * exports in scope, so the test runs the very text the page shows.
 */
function classFrom(page: string, name: string): new () => twine.Protocol {
  const source = [...read(page).matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => new RegExp(`^class ${name} [\\s\\S]*?^\\}$`, "m").exec(m[1]!)?.[0])
    .find((c) => c !== undefined);
  if (source === undefined) throw new Error(`${page} has no class ${name} in a ts block`);
  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
  const names = Object.keys(twine);
  return new Function(...names, `${js}\nreturn ${name};`)(...names.map((n) => twine[n as keyof typeof twine]));
}

test.each(["README.md", "docs/framing.md"])("the Upper protocol shown in %s answers whole lines, at every chunk size down to one byte", (page) => {
  const Upper = classFrom(page, "Upper");
  const stream = new TextEncoder().encode("é\nabc\n");
  for (let size = 1; size <= stream.length; size++) {
    const t = new MemoryTransport();
    t.connect(new Upper());
    for (let i = 0; i < stream.length; i += size) t.receive(stream.slice(i, i + size));
    // MemoryTransport's peer is 192.0.2.1; "é" cut between its two bytes must still come out as "É".
    expect(t.text()).toBe("hello 192.0.2.1\nÉ\nABC\n");
  }
});

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
  ["deno", [BINARIES.deno, "run", "--allow-net", "--allow-read"]],
  ["node", [BINARIES.node]],
])("the Upper example runs on %s under twine-serve, as the README's one-liner says", async (_name, command) => {
  expect(README).toContain("twine-serve examples/upper.ts --port 8001");
  const child = spawn(command[0]!, [...command.slice(1), "bin/serve.ts", "examples/upper.ts", "--port", "0"], { cwd: ROOT });
  try {
    const [line] = (await once(child.stdout, "data")) as [Buffer];
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(line.toString())?.[1]);
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
  for (const flag of ["--port", "--host", "--adapter", "--grace", "--help", "--listen", "--udp", "--udp-rate"]) expect(help).toContain(flag);
  const table = [...README.matchAll(/^\| `(--[a-z-]+)/gm)].map((m) => m[1]!);
  expect(table).toContain("--udp-rate");
  for (const flag of table) expect(help, `README's flag table has ${flag}`).toMatch(new RegExp(`^\\s+${flag}\\b`, "m"));
  // Every endpoint type the --listen row names (udp: too, which is twine's own) is one the CLI takes.
  const listen = /^\| `--listen .*$/m.exec(README)?.[0] ?? "";
  for (const [, type] of listen.matchAll(/`([a-z0-9]+):/g)) expect(help).toContain(`${type}:`);
});

// Imports shown in the README and docs/: test/documented_exports.test.ts.

test("every line of the README's examples is in code these tests run", () => {
  const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".ts"));
  const tested = [read("test/readme.test.ts"), ...examples.map((f) => read(`examples/${f}`))].join("\n");
  for (const block of tsBlocks()) {
    for (const line of block.split("\n")) {
      if (line.trim() === "" || line.startsWith("import ") || line.startsWith("//")) continue;
      expect(tested, "a README example line not in examples/ nor test/readme.test.ts").toContain(line);
    }
  }
});

test("links between the README and docs/ lead to files that exist", () => {
  const pages = ["README.md", ...readdirSync(join(ROOT, "docs")).map((f) => `docs/${f}`)].filter((f) => f.endsWith(".md"));
  for (const page of pages) {
    for (const [, target] of read(page).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      expect(existsSync(join(ROOT, dirname(page), target!)), `${page} links to ${target}`).toBe(true);
    }
  }
});
