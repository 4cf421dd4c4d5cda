// deploy/twine-echo.service: systemd accepts it, and it keeps what docs/operating.md promises (node itself, not npx;
// SIGTERM with time for --grace; restart on failure; a sandbox that still lets it bind).
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { BINARIES, ROOT } from "../tools/runtimes.ts";

const UNIT = readFileSync(join(ROOT, "deploy/twine-echo.service"), "utf8");
const MANIFEST = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; bin: Record<string, string> };

/** The unit's keys by section; a key given twice keeps every value, as systemd's list settings do. */
function parse(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header !== null) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const kv = /^(\w+)=(.*)$/.exec(line);
    expect(kv, `a key=value line: ${line}`).not.toBeNull();
    expect(current, `${line} before any [section]`).toBeDefined();
    current!.set(kv![1]!, [...(current!.get(kv![1]!) ?? []), kv![2]!]);
  }
  return sections;
}

const unit = parse(UNIT);
const service = unit.get("Service")!;
const one = (key: string) => {
  const values = service.get(key) ?? [];
  expect(values, `[Service] ${key}`).toHaveLength(1);
  return values[0]!;
};

function available(command: string): boolean {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).error === undefined;
}

test("it has the sections systemd needs, and starts the server with node itself, on the installed package's twine-echo file", () => {
  expect([...unit.keys()]).toEqual(["Unit", "Service", "Install"]);
  expect(unit.get("Install")!.get("WantedBy")).toEqual(["multi-user.target"]);
  const exec = one("ExecStart").split(/\s+/);
  expect(exec[0]).toMatch(/^\/\S+\/node$/);
  expect(exec[1]).toBe(`${one("WorkingDirectory")}/node_modules/${MANIFEST.name}/${MANIFEST.bin["twine-echo"]}`);
  expect(UNIT).not.toMatch(/^ExecStart=.*\bnpx\b/m);
});

test("SIGTERM to the server alone, and time for it to drain: TimeoutStopSec is more than --grace and the second after it", () => {
  expect(one("KillSignal")).toBe("SIGTERM");
  expect(one("KillMode")).toBe("mixed");
  const grace = Number(/--grace (\d+(?:\.\d+)?)/.exec(one("ExecStart"))?.[1] ?? 5);
  expect(Number(one("TimeoutStopSec"))).toBeGreaterThan(grace + 1);
  expect(one("Restart")).toBe("on-failure");
});

test("the sandbox lets it bind TCP, UDP and Unix sockets, and leaves V8 its writable, executable memory", () => {
  expect(one("RestrictAddressFamilies").split(" ").sort()).toEqual(["AF_INET", "AF_INET6", "AF_UNIX"]);
  expect(service.has("MemoryDenyWriteExecute")).toBe(false);
  expect(one("ProtectSystem")).toBe("strict");
  // Under ProtectSystem=strict, the runtime directory is where a Unix socket can go.
  expect(one("RuntimeDirectory")).toBe("twine-echo");
  // An ambient capability outside the bounding set would be dropped.
  for (const capability of one("AmbientCapabilities").split(" ")) expect(one("CapabilityBoundingSet").split(" ")).toContain(capability);
});

test.skipIf(!available("systemd-analyze"))("systemd-analyze verify accepts it without a warning", () => {
  let text = UNIT;
  // verify checks that ExecStart's program exists; where Node lives elsewhere, point it at the Node the tests run.
  const program = one("ExecStart").split(/\s+/)[0]!;
  try {
    accessSync(program, constants.X_OK);
  } catch {
    text = text.replace(`ExecStart=${program}`, `ExecStart=${BINARIES.node}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "twine-unit-"));
  try {
    writeFileSync(join(dir, "twine-echo.service"), text);
    const r = spawnSync("systemd-analyze", ["verify", join(dir, "twine-echo.service")], { encoding: "utf8", timeout: 30_000 });
    expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 0, stderr: "", stdout: "" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
