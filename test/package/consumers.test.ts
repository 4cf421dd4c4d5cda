// The packages as a new user gets them: `npm pack`, installed offline into an empty project, then used from
// Node 26, the machine's own Node, Bun, Deno, a strict tsc and npx; and the JSR file set, used from Deno.
import { type ChildProcess, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
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

/** The README's table of commands: per runtime, the echo server's and the echo client's command line. */
function readmeCommands(): Map<string, { server: string[]; client: string[] }> {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const table = /^\| command \| (.*) \|\n\|[- |]+\|\n((?:\|.*\|\n)+)/m.exec(readme);
  expect(table, "README's table of commands").not.toBeNull();
  const runtimes = table![1]!.split(" | ");
  const rows = new Map(table![2]!.trimEnd().split("\n").map((row) => {
    const cells = row.slice(2, -2).split(" | ");
    return [cells[0]!, cells.slice(1).map((c) => /^`([^`]+)`$/.exec(c)![1]!.split(" "))] as const;
  }));
  return new Map(runtimes.map((name, i) => [name, { server: rows.get("echo server")![i]!, client: rows.get("echo client")![i]! }]));
}

/** A server started in its own process group, as a terminal or a supervisor starts it. */
interface Started {
  child: ChildProcess;
  port: number;
  output(): string;
  /** The exit code and signal, once the process and its output are done. */
  closed: Promise<[number | null, NodeJS.Signals | null]>;
  /** The exit code and signal, as soon as the process exits (a child it leaves may hold the output open). */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startDetached(argv: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Started> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
  // "close", not "exit": npx exits as soon as the server does, possibly before its last line is read.
  const closed = once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>;
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(" ")}: no listening line in 60 s:\n${output}`)), 60_000);
    child.stdout.on("data", () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (m === null) return;
      clearTimeout(timer);
      resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`${argv.join(" ")}: exited with ${code} before listening:\n${output}`)));
  });
  return { child, port, output: () => output, closed, exited };
}

/** Signals the process group of `started` and waits for it to close; SIGKILL after 15 s. */
async function stopGroup(started: Started, signal: NodeJS.Signals = "SIGTERM"): Promise<[number | null, NodeJS.Signals | null]> {
  process.kill(-started.child.pid!, signal);
  const timer = setTimeout(() => process.kill(-started.child.pid!, "SIGKILL"), 15_000);
  const result = await started.closed;
  clearTimeout(timer);
  return result;
}

/**
 * Starts `server` with `--port 0`, checks that `runtime` runs it, has `client` echo a message through it,
 * and stops the server with SIGTERM to its process group, as Ctrl-C does.
 */
async function serveAndEcho(server: string[], client: string[], cwd: string, runtime: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const started = await startDetached([...server, "--port", "0"], cwd, env);
  try {
    expect(started.output()).toContain(`(${runtime} `);
    const r = run(client[0]!, [...client.slice(1), "--connect", `tcp:host=127.0.0.1:port=${started.port}`, "--message", "hello"], cwd, env);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: "hello", stderr: "" });
  } finally {
    await stopGroup(started);
  }
  expect(started.output()).toContain("Stopped on SIGTERM: served 1 connection, echoed 5 bytes");
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

test("the tarball holds built JavaScript, declarations and maps for every module, and no tests or bench code", () => {
  const files = packed.files.map((f) => f.path);
  console.log(
    `${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${files.length} files`,
  );
  for (const file of files) {
    // bench/report: the measurements docs/ links to.
    expect(file).toMatch(/^(dist|src|adapters|runner|bin|docs|examples|bench\/report)\/|^(mod\.ts|package\.json|README\.md|LICENSE|CHANGELOG\.md|deploy\/haproxy\.cfg|deploy\/twine-echo\.service)$/);
  }
  expect(files).toEqual(
    expect.arrayContaining(["LICENSE", "README.md", "CHANGELOG.md", "deploy/haproxy.cfg", "deploy/twine-echo.service", "dist/mod.js", "dist/mod.d.ts"]),
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

describe("the README's commands on each runtime, from the installed package", () => {
  // The pinned runtimes first, so that `#!/usr/bin/env node` finds Node 26 and bunx is the pinned Bun's.
  const env = () => ({ ...process.env, PATH: [dirname(BINARIES.node), dirname(BINARIES.bun), process.env.PATH].join(delimiter) });

  test("Node: npx twine-echo serves, npx twine-echo-client echoes through it", async () => {
    const { server, client } = readmeCommands().get("Node")!;
    const offline = (argv: string[]) => (argv[0] === "npx" ? ["npx", "--offline", ...argv.slice(1)] : argv);
    await serveAndEcho(offline(server), offline(client), project, "node", env());
  });

  test("Bun: bunx --bun twine-echo serves on Bun, bunx --bun twine-echo-client echoes through it", async () => {
    const { server, client } = readmeCommands().get("Bun")!;
    expect(server.slice(0, 2)).toEqual(["bunx", "--bun"]);
    await serveAndEcho(server, client, project, "bun", env());
  });

  test.each(["bun run", "bunx"])("%s twine-echo without --bun runs Node, as the README says", async (bun) => {
    const started = await startDetached([...bun.split(" "), "twine-echo", "--port", "0"], project, env());
    await stopGroup(started);
    expect(started.output()).toContain("(node 26.");
  });
});

describe("signals through npx, as the README and docs/operating.md describe them (npm 11)", () => {
  const env = () => ({ ...process.env, PATH: [dirname(BINARIES.node), process.env.PATH].join(delimiter) });

  test("SIGTERM to the whole group: the server drains and exits 0, npx ends by the signal", async () => {
    const started = await startDetached(["npx", "--offline", "twine-echo", "--port", "0"], project, env());
    expect(await stopGroup(started)).toEqual([null, "SIGTERM"]);
    expect(started.output()).toContain("Stopped on SIGTERM: served 0 connections, echoed 0 bytes");
  });

  test("SIGTERM to npx alone ends npx and leaves the server running without it", async () => {
    const started = await startDetached(["npx", "--offline", "twine-echo", "--port", "0"], project, env());
    try {
      started.child.kill("SIGTERM");
      expect(await started.exited).toEqual([null, "SIGTERM"]);
      const socket = await connect(started.port);
      const reply = collect(socket);
      socket.end("still here");
      expect((await reply).received.toString()).toBe("still here");
    } finally {
      // The orphan is still in the group npx led.
      process.kill(-started.child.pid!, "SIGKILL");
    }
  });
});

describe("deploy/twine-echo.service's command, on the installed package", () => {
  test("serves, and on SIGTERM to that process alone (KillMode=mixed) drains and exits 0 well within TimeoutStopSec", async () => {
    const unit = readFileSync(join(ROOT, "deploy/twine-echo.service"), "utf8");
    const key = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(unit)![1]!;
    const dir = key("WorkingDirectory");
    let [program, ...args] = key("ExecStart").replaceAll(dir, project).replace("--port 8000", "--port 0").split(" ");
    // The unit names Debian's /usr/bin/node; elsewhere, the machine's own Node.
    if (!existsSync(program!)) program = systemNode();
    expect(args).toContain("0");
    const started = await startDetached([program!, ...args], project);
    const begun = Date.now();
    try {
      const socket = await connect(started.port);
      const reply = collect(socket);
      socket.end("under systemd");
      expect((await reply).received.toString()).toBe("under systemd");
      started.child.kill("SIGTERM");
      expect(await started.closed).toEqual([0, null]);
    } finally {
      if (started.child.exitCode === null) process.kill(-started.child.pid!, "SIGKILL");
    }
    expect(Date.now() - begun).toBeLessThan(Number(key("TimeoutStopSec")) * 1000);
    expect(started.output()).toContain("Stopped on SIGTERM: served 1 connection, echoed 13 bytes");
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
  const consumer = () => join(work, "jsr-consumer");
  const spec = `jsr:${DENO_MANIFEST.name}@^${DENO_MANIFEST.version}`;

  beforeAll(() => {
    dryRun = run(BINARIES.deno, ["publish", "--dry-run", "--allow-dirty"], ROOT, { ...process.env, NO_COLOR: "1" });
    published = [...`${dryRun.stdout}\n${dryRun.stderr}`.matchAll(/file:\/\/(\S+) \(/g)].map((m) => m[1]!);
    // Only the files JSR would receive, linked in place of the registry, which this machine cannot reach.
    const pkg = join(work, "jsr-package");
    for (const file of published) cpSync(file, join(pkg, file.slice(ROOT.length)));
    mkdirSync(consumer());
    writeFileSync(
      join(consumer(), "deno.json"),
      JSON.stringify({ imports: { [DENO_MANIFEST.name]: spec }, links: [pkg] }),
    );
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
    expect(published.some((f) => /^(test|bench\/(?!report\/)|dist|tools)\//.test(f.slice(ROOT.length)))).toBe(false);
  });

  test("Deno imports it through its deno.json exports and echoes 1 MiB", () => {
    expect(published.length, "files listed by the dry run").toBeGreaterThan(0);
    // As after `deno add jsr:<name>`; the fixture names the package "@twine/net", whatever deno.json calls it.
    const main = readFileSync(join(FIXTURES, "jsr_consumer.ts"), "utf8").replaceAll(
      '"@twine/net',
      `"${DENO_MANIFEST.name}`,
    );
    writeFileSync(join(consumer(), "main.ts"), main);
    const out = ok(run(BINARIES.deno, ["run", "--check", "--allow-net", "--no-prompt", "main.ts"], consumer()));
    expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual({ adapter: "deno deno", identical: true });
    // The command, as `deno run --allow-net jsr:@twine/net/echo` in the README.
    expect(ok(run(BINARIES.deno, ["run", "--no-prompt", `${spec}/echo`, "--help"], consumer()))).toContain("Usage: twine-echo");
  });

  test("the README's Deno commands run the echo server and client from the package", async () => {
    const { server, client } = readmeCommands().get("Deno")!;
    // The README's jsr:@twine/net, pinned to this version, which the links above stand in for.
    const pin = (argv: string[]) =>
      argv.map((a) => (a === "deno" ? BINARIES.deno : a.replace(`jsr:${DENO_MANIFEST.name}/`, `${spec}/`))).toSpliced(2, 0, "--no-prompt");
    await serveAndEcho(pin(server), pin(client), consumer(), "deno");
  });

  test("deno run jsr:…/serve serves a module of the consumer's own, importing the package by its name", async () => {
    writeFileSync(join(consumer(), "mine.ts"), readFileSync(join(FIXTURES, "mine_jsr.ts"), "utf8").replaceAll('"@twine/net', `"${DENO_MANIFEST.name}`));
    const output = await servesMine([BINARIES.deno, "run", "--allow-net", "--allow-read", "--no-prompt", `${spec}/serve`, "./mine.ts", "--port", "0"], consumer());
    expect(output).toMatch(/^\.\/mine\.ts listening on 127\.0\.0\.1:\d+ \(deno /m);
  });
});

// The README says what a project made by `npm init -y` ("type": "commonjs") needs: ES module files, or "type": "module".
describe("a CommonJS project, as npm init -y makes it", () => {
  let cjs: string;
  // The README's Upper protocol (examples/upper.ts), importing the installed package.
  const upper = () => readFileSync(join(ROOT, "examples/upper.ts"), "utf8").replace('"../mod.ts"', `"${MANIFEST.name}"`);

  beforeAll(() => {
    cjs = join(work, "commonjs");
    mkdirSync(cjs);
    ok(run("npm", ["init", "-y"], cjs));
    expect(JSON.parse(readFileSync(join(cjs, "package.json"), "utf8")).type).toBe("commonjs");
    ok(run("npm", ["install", "--offline", "--no-audit", "--no-fund", join(work, packed.filename)], cjs));
    writeFileSync(join(cjs, "upper.ts"), upper());
    writeFileSync(join(cjs, "upper.mts"), upper());
  }, 120_000);

  /** The installed twine-serve, on Node 26, as the README's one-liner runs it. */
  const serve = (file: string) => [join(cjs, "node_modules", MANIFEST.name, "dist/bin/serve.js"), file, "--port", "0"];

  /** Serves the Upper protocol from `file` with twine-serve on Node 26 and checks that it answers. */
  async function answers(file: string): Promise<void> {
    const child = spawn(BINARIES.node, serve(file), { cwd: cjs, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const [line] = (await once(child.stdout, "data")) as [Buffer];
      const socket = await connect(Number(/listening on 127\.0\.0\.1:(\d+)/.exec(line.toString())?.[1]));
      const reply = collect(socket);
      socket.end("shout\n");
      expect((await reply).received.toString()).toBe("hello 127.0.0.1\nSHOUT\n");
    } finally {
      child.kill();
    }
  }

  test("the README's protocol as a .ts file stops at its first import: twine-serve says so in one line, and what to do", () => {
    const r = run(BINARIES.node, serve("upper.ts"), cjs);
    expect(r.status).toBe(2);
    const ours = r.stderr.split("\n").filter((line) => line.startsWith("twine-serve:"));
    expect(ours).toEqual([
      expect.stringMatching(/^twine-serve: Cannot load upper\.ts: syntax error: Cannot use import statement outside a module \(.*upper\.ts:\d+\); set "type": "module" in its package\.json or name it \.mts\/\.mjs$/),
    ]);
  });

  test("the same file named .mts runs and answers", async () => {
    await answers("upper.mts");
  });

  test.each([
    ["Node 26", [BINARIES.node]],
    ["the system Node", [systemNode()]],
    ["Bun", [BINARIES.bun, "run"]],
  ])("require() of the package works from CommonJS on %s", (_name, command) => {
    writeFileSync(join(cjs, "required.cjs"), `const twine = require("${MANIFEST.name}"); console.log(typeof twine.listen, typeof twine.Protocol);`);
    expect(ok(run(command[0]!, [...command.slice(1), "required.cjs"], cjs)).trim()).toBe("function function");
  });

  // Last: it changes the project for good.
  test("after npm pkg set type=module the .ts file runs and answers", async () => {
    ok(run("npm", ["pkg", "set", "type=module"], cjs));
    await answers("upper.ts");
  });
});
