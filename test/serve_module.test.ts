// twine-serve MODULE on each runtime: a service maker with options of its own and its --help, the built-in wire
// services, and every way a module can be wrong, each in one line with the documented exit status.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { BINARIES, type Pair, PAIRS, ROOT } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";
import { collect, connect } from "./helpers/client.ts";
import { run } from "./helpers/run.ts";

const dir = mkdtempSync(`${tmpdir()}/twm-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TWINE = pathToFileURL(join(ROOT, "mod.ts")).href;
const RUNNER = pathToFileURL(join(ROOT, "runner/mod.ts")).href;

/** Writes a module into the test's directory and returns its path. */
function module(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const BAD = {
  syntax: module("bad_syntax.ts", "export default {\n"),
  noDefault: module("no_default.ts", "export const factory = 1;\n"),
  number: module("number.ts", "export default 42;\n"),
  protocolClass: module("protocol_class.ts", `import { Protocol } from "${TWINE}";\nexport default class Hello extends Protocol {}\n`),
  factoryClass: module("factory_class.ts", `import { Factory } from "${TWINE}";\nexport default class Hellos extends Factory {}\n`),
  throws: module("throws.ts", `throw new Error("boom at load");\n`),
  clash: module(
    "clash.ts",
    `import { Factory } from "${TWINE}";\nexport default { description: "x", options: { port: { type: "string", description: "mine" } }, makeFactory: () => new Factory() };\n`,
  ),
  missingImport: module("missing_import.ts", `import "./not_there.ts";\nexport default 1;\n`),
  returnsNothing: module("returns_nothing.ts", `export default { description: "x", makeFactory: () => undefined };\n`),
};

const RUNTIMES = PAIRS.filter((p) => p.adapter === "native");

/** The pair's command for twine-serve, Deno allowed to read modules. */
function serve(pair: Pair, ...args: string[]): string[] {
  const runtime = pair.runtime === "deno" ? [...pair.command, "--allow-read"] : pair.command;
  return [...runtime, "bin/serve.ts", ...args];
}

describe.each(RUNTIMES)("twine-serve on $runtime", (pair) => {
  test("a service maker's own options reach makeFactory, before or after twine's, and its name starts the start line", async () => {
    const server = await startProcess(pair.name, serve(pair, "--port", "0", "test/fixtures/modules/greeter.ts", "--greeting", "howdy", "-s"));
    try {
      expect(server.output()).toMatch(/^Greeter listening on 127\.0\.0\.1:\d+ \(/);
      const sock = await connect(server.port);
      expect((await collect(sock)).received.toString()).toBe("HOWDY 127.0.0.1\n");
    } finally {
      const { code, output } = await server.stop();
      expect(code).toBe(0);
      expect(output).toMatch(/^Stopped on SIGTERM: served 1 connection$/m);
    }
  });

  test("MODULE --help shows twine's options, then the module's description and its options", async () => {
    const r = await run(serve(pair, "test/fixtures/modules/greeter.ts", "--help"));
    expect(r.code).toBe(0);
    const help = r.stdout.toString();
    expect(help).toMatch(/^Usage: twine-serve MODULE \[options\]/);
    const twine = help.indexOf("  --listen ENDPOINT");
    const own = help.indexOf("test/fixtures/modules/greeter.ts: Greets each client by its address and closes.");
    expect(twine).toBeGreaterThan(0);
    expect(own).toBeGreaterThan(twine);
    expect(help.slice(own)).toMatch(/^ {2}--greeting TEXT +what to say first \(default hello\)$/m);
    expect(help.slice(own)).toMatch(/^ {2}-s, --shout +say it in capitals$/m);
  });

  test("a UsageError from makeFactory is one line, exit 2; any other throw is one line naming the module, exit 1", async () => {
    const usage = await run(serve(pair, "test/fixtures/modules/greeter.ts", "--greeting", "", "--port", "0"));
    expect([usage.code, usage.stderr]).toEqual([2, "twine-serve: Invalid --greeting '': expected some text\n"]);
    const thrown = await run(serve(pair, "test/fixtures/modules/greeter.ts", "--fail", "--port", "0"));
    expect([thrown.code, thrown.stderr]).toEqual([
      1,
      "twine-serve: Cannot serve test/fixtures/modules/greeter.ts: makeFactory threw Error: cannot reach the database\n",
    ]);
  });

  test.each([
    ["a missing file", join(dir, "missing.ts"), 2, /^Cannot load \S+missing\.ts: no such file$/],
    ["a syntax error", BAD.syntax, 2, /^Cannot load \S+bad_syntax\.ts: syntax error: .+$/],
    ["an import that is not there", BAD.missingImport, 2, /^Cannot load \S+missing_import\.ts: .*not_there\.ts.*$/],
    ["no default export", BAD.noDefault, 2, /^Cannot load \S+no_default\.ts: it has no default export \(export default a Factory or a service maker\)$/],
    ["a default export of the wrong type", BAD.number, 2, /^Cannot load \S+number\.ts: its default export is a number, not a Factory or a service maker/],
    [
      "a Protocol class",
      BAD.protocolClass,
      2,
      /^Cannot load \S+protocol_class\.ts: its default export is the Protocol class Hello, not a factory \(export default Factory\.forProtocol\(Hello\)\)$/,
    ],
    ["a Factory class", BAD.factoryClass, 2, /^Cannot load \S+factory_class\.ts: .*Factory class Hellos, not a factory \(export default new Hellos\(\)\)$/],
    ["an option named as one of twine's", BAD.clash, 2, /^Cannot load \S+clash\.ts: its option --port is one of twine's own$/],
    ["a makeFactory that returns no factory", BAD.returnsNothing, 2, /^Cannot serve \S+returns_nothing\.ts: makeFactory returned undefined, not a Factory$/],
    ["a module that throws while it is evaluated", BAD.throws, 1, /^Cannot load \S+throws\.ts: it threw Error: boom at load$/],
    ["a name that is no built-in service", "nosuch", 2, /^Cannot load 'nosuch': no such service \(built in: echo, discard, chargen, daytime\)/],
  ])("%s: one line, no stack, exit %s", async (_case, path, status, message) => {
    const r = await run(serve(pair, path, "--port", "0"), new Uint8Array(0), 30_000);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^twine-serve: /);
    expect(lines[0]!.slice("twine-serve: ".length)).toMatch(message);
    expect(r.code).toBe(status);
    expect(r.stdout.toString()).toBe("");
  });

  test("--traceback prints the stack of what the module threw before the one line", async () => {
    const r = await run(serve(pair, BAD.throws, "--port", "0", "--traceback"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/boom at load[\s\S]*\n\s+at [\s\S]*\ntwine-serve: Cannot load \S+throws\.ts: it threw Error: boom at load\n$/);
  });

  test.each([
    ["daytime", (text: string) => expect(text).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n$/)],
    ["discard", (text: string) => expect(text).toBe("")],
  ])("the built-in %s service answers as its RFC says, over TCP", async (name, check) => {
    const server = await startProcess(pair.name, serve(pair, name, "--port", "0"));
    try {
      expect(server.output()).toMatch(new RegExp(`^${name[0]!.toUpperCase()}${name.slice(1)} server listening on 127\\.0\\.0\\.1:\\d+ `));
      const sock = await connect(server.port);
      const reply = collect(sock);
      sock.end("ignored\r\n".repeat(1000));
      check((await reply).received.toString());
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });

  test("the built-in chargen service streams RFC 864's pattern to a client that reads, and stops when it goes", async () => {
    const server = await startProcess(pair.name, serve(pair, "chargen", "--port", "0"));
    try {
      const sock = await connect(server.port);
      let received = "";
      await new Promise<void>((resolve) => {
        sock.setEncoding("latin1").on("data", (s: string) => {
          received += s;
          if (received.length >= 256 * 1024) resolve();
        });
      });
      sock.destroy();
      const lines = received.split("\r\n").slice(0, 200);
      for (const [n, line] of lines.entries()) {
        let expected = "";
        for (let i = 0; i < 72; i++) expected += String.fromCharCode(0x20 + ((n + i) % 95));
        expect(line).toBe(expected);
      }
    } finally {
      const { code, output } = await server.stop();
      expect(code).toBe(0);
      expect(output).toMatch(/^Stopped on SIGTERM: served 1 connection$/m);
    }
  });
});

test("deno without --allow-read names the flag that loading a module needs, in one line, exit 2", async () => {
  const r = await run([BINARIES.deno, "run", "--allow-net", "--no-prompt", "bin/serve.ts", "test/fixtures/modules/greeter.ts", "--port", "0"]);
  expect([r.code, r.stderr]).toEqual([2, "twine-serve: Cannot load test/fixtures/modules/greeter.ts: read access denied; run deno with --allow-read\n"]);
});
