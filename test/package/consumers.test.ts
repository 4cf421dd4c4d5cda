// The packages as a new user gets them: `npm pack`, installed offline into an empty project, then used from
// Node 26, the machine's own Node, Bun, Deno, a strict tsc and npx; and the JSR file set, used from Deno.
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { once } from "node:events";
import {
  accessSync,
  constants,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { collect, connect } from "../helpers/client.ts";
import { drainsOnCtrlC, replacesAKilledWorker, spreadsAndDrains } from "../helpers/cluster_workers.ts";
import { reusePortUnsupported } from "../../adapters/node/reuse_port.ts";
import { BINARIES, ROOT } from "../../tools/runtimes.ts";

const FIXTURES = join(ROOT, "test/package/fixtures");
const MANIFEST = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};
const DENO_MANIFEST = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as { name: string; version: string };
const MIB = 1 << 20;

/** The first `node` on PATH outside any node_modules, else /usr/bin/node: the machine's own Node. */
function systemNode(): string {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d !== "" && !d.includes("node_modules"));
  for (const candidate of [...dirs.map((d) => join(d, "node")), "/usr/bin/node"]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next
    }
  }
  throw new Error("Cannot find the system Node: no node on PATH outside node_modules, nor /usr/bin/node");
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 120_000 });
}

function ok(result: SpawnSyncReturns<string>): string {
  expect(result.error, String(result.error)).toBeUndefined();
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

let work: string;
let project: string;
let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "twine-package-"));
  project = join(work, "project");
  mkdirSync(project);
  // prepack builds dist/ first, so this is exactly what `npm publish` would upload.
  const out = ok(run("npm", ["pack", "--json", "--pack-destination", work], ROOT));
  packed = (JSON.parse(out.slice(out.indexOf("["))) as (typeof packed)[])[0]!;
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  ok(run("npm", ["install", "--offline", "--no-audit", "--no-fund", join(work, packed.filename)], project));
  for (const file of ["echo_1mib.mjs", "typed_protocol.ts", "mine.js"]) copyFileSync(join(FIXTURES, file), join(project, file));
}, 300_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

test("the tarball holds built JavaScript, declarations and maps for every module, and no tests or bench", () => {
  const files = packed.files.map((f) => f.path);
  console.log(
    `${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${files.length} files`,
  );
  for (const file of files) {
    expect(file).toMatch(/^(dist|src|adapters|runner|bin|docs)\/|^(mod\.ts|package\.json|README\.md|LICENSE|CHANGELOG\.md|deploy\/haproxy\.cfg)$/);
  }
  expect(files).toEqual(
    expect.arrayContaining(["LICENSE", "README.md", "CHANGELOG.md", "deploy/haproxy.cfg", "dist/mod.js", "dist/mod.d.ts"]),
  );
  const sources = files.filter((f) => /^(src|adapters|runner)\/.*\.ts$|^mod\.ts$/.test(f));
  expect(sources.length).toBeGreaterThan(5);
  for (const source of sources) {
    const built = `dist/${source.replace(/\.ts$/, "")}`;
    expect(files).toEqual(
      expect.arrayContaining([`${built}.js`, `${built}.js.map`, `${built}.d.ts`, `${built}.d.ts.map`]),
    );
  }
  expect(Object.keys(MANIFEST.bin)).toEqual(expect.arrayContaining(["twine-echo", "twine-serve", "twine-echo-client"]));
  for (const bin of Object.values(MANIFEST.bin)) expect(files).toContain(bin.replace(/^\.\//, ""));
});

test("every relative import in the installed JavaScript and declarations leads to a file in the package", () => {
  const installed = join(project, "node_modules", MANIFEST.name);
  const modules = packed.files.map((f) => f.path).filter((f) => /^dist\/.*\.(js|d\.ts)$/.test(f));
  let imports = 0;
  for (const file of modules) {
    const code = readFileSync(join(installed, file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
    for (const [, specifier] of code.matchAll(/(?:from|import\()\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      imports++;
      expect(existsSync(join(installed, dirname(file), specifier!)), `${file} imports ${specifier}`).toBe(true);
    }
  }
  expect(imports).toBeGreaterThan(10);
});

describe.each([
  ["Node 26", [BINARIES.node], "node", "node:net"],
  ["the system Node", [systemNode()], "node", "node:net"],
  ["Bun", [BINARIES.bun, "run"], "bun", "bun"],
  ["Deno", [BINARIES.deno, "run", "--allow-net", "--no-prompt"], "deno", "deno"],
])("%s", (_name, command, runtime, adapter) => {
  test("imports the installed package and echoes 1 MiB through a protocol of its own", () => {
    const out = ok(run(command[0]!, [...command.slice(1), "echo_1mib.mjs"], project));
    const report = JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>;
    console.log(`${_name}: ${JSON.stringify(report.runtime)}`);
    expect(report).toMatchObject({
      runtime: { name: runtime },
      listenAdapter: adapter,
      conditionalAdapter: adapter,
      memory: "in memory",
      echoedBytes: MIB,
      identical: true,
    });
    expect(report.protocolBytes).toBe(MIB + "in memory".length);
  });
});

describe.each(["nodenext", "bundler"])("a strict TypeScript consumer with moduleResolution %s", (resolution) => {
  const tsconfig = (files: string[]) => ({
    compilerOptions: {
      strict: true,
      target: "ES2022",
      module: resolution === "nodenext" ? "nodenext" : "esnext",
      moduleResolution: resolution,
      lib: ["ES2022"],
      types: [],
      noEmit: true,
      skipLibCheck: false,
      noImplicitOverride: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
    },
    files,
  });
  const tsc = (name: string, files: string[]) => {
    writeFileSync(join(project, name), JSON.stringify(tsconfig(files)));
    return run(BINARIES.node, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", name], project);
  };

  test("type-checks a protocol subclass against the shipped declarations", () => {
    ok(tsc(`tsconfig.${resolution}.json`, ["typed_protocol.ts"]));
  });

  test("reports a protocol method with the wrong signature", () => {
    const text = readFileSync(join(project, "typed_protocol.ts"), "utf8");
    const broken = text.replace("dataReceived(data: Uint8Array)", "dataReceived(data: string)");
    expect(broken).not.toBe(text);
    writeFileSync(join(project, "typed_protocol_broken.ts"), broken);
    const result = tsc(`tsconfig.broken.${resolution}.json`, ["typed_protocol_broken.ts"]);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/typed_protocol_broken\.ts\(\d+,\d+\): error TS2416: Property 'dataReceived'/);
  });
});

test("deno check type-checks the same consumer against the declarations it resolves by the deno condition", () => {
  ok(run(BINARIES.deno, ["check", "--quiet", "typed_protocol.ts"], project));
  const broken = readFileSync(join(project, "typed_protocol.ts"), "utf8").replace(
    "(data: Uint8Array)",
    "(data: string)",
  );
  writeFileSync(join(project, "typed_protocol_deno_broken.ts"), broken);
  const result = run(BINARIES.deno, ["check", "--quiet", "typed_protocol_deno_broken.ts"], project, {
    ...process.env,
    NO_COLOR: "1",
  });
  expect(result.status).not.toBe(0);
  expect(result.stderr).toMatch(/TS2416 \[ERROR\]: Property 'dataReceived'/);
});

describe.each([
  ["Node 26", ["twine-echo"], [dirname(BINARIES.node)]],
  ["the system Node", ["-p", MANIFEST.name, "twine-echo"], [dirname(systemNode())]],
])("npx on %s", (_name, npxArgs, pathFirst) => {
  test(`npx ${npxArgs.join(" ")} --port 0 starts the installed echo server, which answers and stops on SIGTERM to its process group`, async () => {
    const env = { ...process.env, PATH: [...pathFirst, process.env.PATH].join(delimiter) };
    // Its own process group, signalled as a whole as a terminal does on Ctrl-C: npm does not pass SIGTERM on.
    const child = spawn("npx", ["--offline", ...npxArgs, "--port", "0"], {
      cwd: project,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
    // "close", not "exit": npx exits as soon as the server does, possibly before its last line is read.
    const closed = once(child, "close");
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line in 60 s:\n${output}`)), 60_000);
        child.stdout.on("data", () => {
          const m = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
          if (m === null) return;
          clearTimeout(timer);
          resolve(Number(m[1]));
        });
        child.on("exit", (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
      });
      const expected = pathFirst[0] === dirname(BINARIES.node)
        ? "node 26."
        : `node ${run(systemNode(), ["--version"], project).stdout.trim().slice(1)}`;
      expect(output).toContain(`(${expected}`);
      const socket = await connect(port);
      const reply = collect(socket);
      socket.end("hello from npx");
      expect((await reply).received.toString()).toBe("hello from npx");
    } finally {
      process.kill(-child.pid!, "SIGTERM");
    }
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 15_000);
    await closed;
    clearTimeout(timer);
    expect(output).toContain("Stopped on SIGTERM: served 1 connection, echoed 14 bytes");
  });
});

/**
 * Starts `command` in its own process group, waits for its start line, shouts through the module, stops it with
 * SIGTERM to the group (as a terminal's Ctrl-C; npm does not pass a signal on) and returns everything it printed.
 */
async function servesMine(command: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, checkStatus = true): Promise<string> {
  const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
  const closed = once(child, "close");
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in 60 s:\n${output}`)), 60_000);
      child.stdout.on("data", () => {
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
        if (m === null) return;
        clearTimeout(timer);
        resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
    });
    const socket = await connect(port);
    const reply = collect(socket);
    socket.end("shout it");
    expect((await reply).received.toString()).toBe("SHOUT IT");
  } finally {
    process.kill(-child.pid!, "SIGTERM");
  }
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 15_000);
  const [code] = (await closed) as [number | null];
  clearTimeout(timer);
  expect(output).toMatch(/^Stopped on SIGTERM: served 1 connection$/m);
  if (checkStatus) expect(code).toBe(0);
  return output;
}

describe.each([
  ["Node 26", ["twine-serve"], [dirname(BINARIES.node)]],
  ["the system Node", ["-p", MANIFEST.name, "twine-serve"], [dirname(systemNode())]],
])("npx twine-serve on %s", (_name, npxArgs, pathFirst) => {
  test("serves a module of the project's own, in plain JavaScript, and stops on SIGTERM with one summary", async () => {
    const env = { ...process.env, PATH: [...pathFirst, process.env.PATH].join(delimiter) };
    // npm dies of the group's SIGTERM too, so the exit status is npm's: the summary is the server's word.
    const output = await servesMine(["npx", "--offline", ...npxArgs, "./mine.js", "--port", "0"], project, env, false);
    expect(output).toMatch(/^\.\/mine\.js listening on 127\.0\.0\.1:\d+ \(node \d+/m);
  });
});

test("bunx --bun twine-serve serves the same module on Bun", async () => {
  const env = { ...process.env, PATH: [dirname(BINARIES.bun), process.env.PATH].join(delimiter) };
  const output = await servesMine([BINARIES.bun, "x", "--bun", "twine-serve", "./mine.js", "--port", "0"], project, env);
  expect(output).toMatch(/^\.\/mine\.js listening on 127\.0\.0\.1:\d+ \(bun /m);
});

// Node before 22.12 ignores reusePort: there the CLI's workers share the port through node:cluster, and listen refuses it.
describe("on the system Node, when older than 22.12", () => {
  const version = run(systemNode(), ["--version"], ROOT).stdout.trim().slice(1);
  const old = reusePortUnsupported({ name: "node", version }) !== undefined;
  const workers = () => [systemNode(), join(project, "node_modules", MANIFEST.name, MANIFEST.bin["twine-echo"]!), "--port", "0", "--workers", "2"];

  test.skipIf(!old)(`twine-echo --workers 2 runs through node:cluster: 50 connections of 64 KiB spread over both, SIGTERM sums them (Node ${version})`, async () => {
    const output = await spreadsAndDrains(workers());
    expect(output).toContain(`(node ${version}, adapter node:net, 2 workers)`);
  });

  test.skipIf(!old)("twine-echo --workers 2 through node:cluster replaces a SIGKILLed worker without losing a connection", async () => {
    await replacesAKilledWorker(workers());
  });

  test.skipIf(!old)("twine-echo --workers 2 through node:cluster drains once on a Ctrl-C that reaches every worker twice", async () => {
    await drainsOnCtrlC(workers());
  });

  test.skipIf(!old)("listen with reusePort rejects with a one-line ListenError", () => {
    const script = `import { EchoFactory, listen } from "${MANIFEST.name}";
      try { await listen(new EchoFactory(), { port: 0, reusePort: true }); console.log("listened"); process.exit(0); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
    const out = ok(run(systemNode(), ["--input-type=module", "-e", script], project));
    expect(JSON.parse(out)).toEqual({
      name: "ListenError",
      code: "ENOTSUP",
      message: `Cannot listen on 127.0.0.1:0: reusePort needs Node 22.12 or later (this is ${version})`,
    });
  });
});

describe("the JSR package", () => {
  let dryRun: SpawnSyncReturns<string>;
  let published: string[];

  beforeAll(() => {
    dryRun = run(BINARIES.deno, ["publish", "--dry-run", "--allow-dirty"], ROOT, { ...process.env, NO_COLOR: "1" });
    published = [...`${dryRun.stdout}\n${dryRun.stderr}`.matchAll(/file:\/\/(\S+) \(/g)].map((m) => m[1]!);
  }, 120_000);

  test("deno publish --dry-run is clean: license, no slow types, only what a user needs", () => {
    const output = `${dryRun.stdout}\n${dryRun.stderr}`;
    expect(dryRun.status, output).toBe(0);
    // The one warning allowed: twine-serve imports the user's module by its file URL at run time, which is
    // intended; deno publish cannot be told so (denoland/deno#22594).
    const warnings = [...output.matchAll(/^\s*(warning|error)\[?([\w-]*)\]?.*\n\s*--> (\S+)/gim)].map((m) => `${m[2]} ${m[3]!.replace(/:\d+:\d+$/, "")}`);
    expect(warnings).toEqual([`unanalyzable-dynamic-import ${join(ROOT, "runner/load_service.ts")}`]);
    expect(output.match(/^\s*(warning|error)\b/gim)).toHaveLength(1);
    expect(output).toContain("Dry run complete");
    expect(published.map((f) => f.slice(ROOT.length))).toEqual(
      expect.arrayContaining(["LICENSE", "deno.json", "mod.ts"]),
    );
    expect(published.some((f) => /^(test|bench|dist|tools)\//.test(f.slice(ROOT.length)))).toBe(false);
  });

  test("Deno imports it through its deno.json exports and echoes 1 MiB", () => {
    expect(published.length, "files listed by the dry run").toBeGreaterThan(0);
    // Only the files JSR would receive, linked in place of the registry, which this machine cannot reach.
    const pkg = join(work, "jsr-package");
    for (const file of published) cpSync(file, join(pkg, file.slice(ROOT.length)));
    const consumer = join(work, "jsr-consumer");
    mkdirSync(consumer);
    const spec = `jsr:${DENO_MANIFEST.name}@^${DENO_MANIFEST.version}`;
    writeFileSync(
      join(consumer, "deno.json"),
      JSON.stringify({ imports: { [DENO_MANIFEST.name]: spec }, links: [pkg] }),
    );
    // As after `deno add jsr:<name>`; the fixture names the package "@twine/net", whatever deno.json calls it.
    const main = readFileSync(join(FIXTURES, "jsr_consumer.ts"), "utf8").replaceAll(
      '"@twine/net',
      `"${DENO_MANIFEST.name}`,
    );
    writeFileSync(join(consumer, "main.ts"), main);
    const out = ok(run(BINARIES.deno, ["run", "--check", "--allow-net", "--no-prompt", "main.ts"], consumer));
    expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual({ adapter: "deno deno", identical: true });
    // The command, as `deno run --allow-net jsr:@twine/net/echo` in the README.
    expect(ok(run(BINARIES.deno, ["run", "--no-prompt", `${spec}/echo`, "--help"], consumer))).toContain("Usage: twine-echo");
  });

  test("deno run jsr:…/serve serves a module of the consumer's own, importing the package by its name", async () => {
    const consumer = join(work, "jsr-consumer");
    expect(existsSync(join(consumer, "deno.json")), "the consumer made by the test above").toBe(true);
    const spec = `jsr:${DENO_MANIFEST.name}@^${DENO_MANIFEST.version}`;
    writeFileSync(join(consumer, "mine.ts"), readFileSync(join(FIXTURES, "mine_jsr.ts"), "utf8").replaceAll('"@twine/net', `"${DENO_MANIFEST.name}`));
    const output = await servesMine([BINARIES.deno, "run", "--allow-net", "--allow-read", "--no-prompt", `${spec}/serve`, "./mine.ts", "--port", "0"], consumer);
    expect(output).toMatch(/^\.\/mine\.ts listening on 127\.0\.0\.1:\d+ \(deno /m);
  });
});
