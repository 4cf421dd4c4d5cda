/**
 * The folders are the layers: commands (bin/) → runner (runner/) → adapters (adapters/) → core (src/),
 * imports pointing one way and no file importing itself through others, lazy imports included.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { expect, test } from "vitest";
import { ROOT } from "../tools/runtimes.ts";

const LAYERS = ["src", "adapters", "runner", "bin"] as const;

/**
 * Relative imports that load code, not `import type`: static ones (side-effect imports included)
 * and, unless `lazy` is false, `import()`.
 */
function importsOf(file: string, lazy = true): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^;]*?from\s+"(\.[^"]+)"/gms)) {
    if (m[1] === undefined) out.push(m[2]!);
  }
  for (const m of text.matchAll(/^import\s+"(\.[^"]+)"/gm)) out.push(m[1]!);
  if (lazy) for (const m of text.matchAll(/import\(\s*"(\.[^"]+)"\s*\)/g)) out.push(m[1]!);
  return out.map((spec) => normalize(join(dirname(file), spec)));
}

function sources(): string[] {
  const files = LAYERS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => join(dir, f)),
  );
  return [...files, "mod.ts"];
}

const layerOf = (file: string): number => LAYERS.findIndex((layer) => file.startsWith(`${layer}/`));

test("src, adapters, runner and bin import only their own layer or the layers below it", () => {
  const upward: string[] = [];
  for (const file of sources()) {
    if (file === "mod.ts") continue;
    for (const target of importsOf(file)) {
      if (layerOf(target) > layerOf(file)) upward.push(`${file} -> ${relative(ROOT, join(ROOT, target))}`);
    }
  }
  expect(upward).toEqual([]);
});

test("no file imports itself through others (lazy imports count)", () => {
  const edges = new Map(sources().map((f) => [f, importsOf(f)]));
  const state = new Map<string, "visiting" | "done">();
  const circles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    state.set(file, "visiting");
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === "visiting") circles.push([...path.slice(path.indexOf(next)), next].join(" -> "));
      else if (!state.has(next) && edges.has(next)) visit(next, [...path, next]);
    }
    state.set(file, "done");
  };
  for (const file of edges.keys()) if (!state.has(file)) visit(file, [file]);
  expect(circles).toEqual([]);
});

function staticClosure(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    stack.push(...importsOf(file, false));
  }
  return seen;
}

test("a plain TCP echo server loads no UDP, PROXY, TLS, Unix-socket, worker or metrics module until a listener asks for one", () => {
  // What `twine-echo` loads before it listens, and what each runtime's adapter loads for a TCP listener.
  const loaded = staticClosure(["bin/serve_command.ts", "adapters/bun/mod.ts", "adapters/deno/mod.ts", "adapters/node/mod.ts"]);
  const deferred = [...loaded].filter((f) =>
    /^src\/(udp|proxy)\/|^adapters\/\w+\/start_tls\.ts$|(^|\/)(tls|unix|unix_port|unix_path|udp|supervisor|worker|control|claim_ports|metrics_service|datagram_service)\.ts$/.test(f)
  );
  expect(deferred).toEqual([]);
  expect(loaded.has("adapters/bun/tcp.ts") && loaded.has("src/transport/port.ts")).toBe(true);
});
