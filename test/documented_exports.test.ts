// Every name the README and docs/ show a user as importable is exported by the entry point it is shown with:
// imports in ```ts blocks, the README's entry-point table, "API at a glance" lists, and "(exported by `x`)".
// Entry points come from package.json's and deno.json's exports, which map to the same .ts files.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, test } from "vitest";
import { ROOT } from "../tools/runtimes.ts";

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const PAGES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

type Exports = Record<string, string | Record<string, unknown>>;
const NPM = JSON.parse(read("package.json")) as { name: string; exports: Exports };
const JSR = JSON.parse(read("deno.json")) as { name: string; exports: Record<string, string> };

/** The .ts sources an npm export target builds from: tsc compiles X.ts to dist/X.js, one to one. */
function npmSources(target: unknown): string[] {
  if (typeof target === "string") return target.endsWith(".js") ? [target.replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts")] : [];
  return Object.entries(target as Record<string, unknown>)
    .filter(([condition]) => condition !== "types")
    .flatMap(([, t]) => npmSources(t));
}

/** Each specifier a user may import (`twine-net/core`, `@twine/net/core`, `jsr:@twine/net/core`) and the source files behind it. */
const ENTRIES = new Map<string, string[]>();
for (const [subpath, target] of Object.entries(NPM.exports)) {
  const sources = [...new Set(npmSources(target))];
  if (sources.length > 0) ENTRIES.set(NPM.name + subpath.slice(1), sources);
}
for (const [subpath, target] of Object.entries(JSR.exports)) {
  for (const prefix of [JSR.name, `jsr:${JSR.name}`]) ENTRIES.set(prefix + subpath.slice(1), [target.replace(/^\.\//, "")]);
}

const program = ts.createProgram([...new Set([...ENTRIES.values()].flat())].map((f) => join(ROOT, f)), {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  allowImportingTsExtensions: true,
  noEmit: true,
  types: ["node"],
});
const checker = program.getTypeChecker();

function exportSymbols(file: string): ts.Symbol[] {
  const module = checker.getSymbolAtLocation(program.getSourceFile(join(ROOT, file))!);
  return module === undefined ? [] : checker.getExportsOfModule(module);
}

const resolve = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

/** The names an entry point exports, values and types, on every file it may resolve to. */
function exported(entry: string): Set<string> {
  const sets = ENTRIES.get(entry)!.map((f) => new Set(exportSymbols(f).map((s) => s.name)));
  return new Set([...sets[0]!].filter((n) => sets.every((s) => s.has(n))));
}

/** Properties and methods of an export: instance side of a class or interface, and a class's static side. */
function membersOf(symbol: ts.Symbol): string[] {
  const s = resolve(symbol);
  const types: ts.Type[] = [];
  if (s.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) types.push(checker.getDeclaredTypeOfSymbol(s));
  if (s.flags & ts.SymbolFlags.Class) types.push(checker.getTypeOfSymbol(s));
  return types.flatMap((t) => checker.getPropertiesOfType(t).map((p) => p.name));
}

/** Whether `name` is a property or method of something `entry` exports (so a method, not an export). */
function isMember(entry: string, name: string): boolean {
  return ENTRIES.get(entry)!.some((f) => exportSymbols(f).some((s) => membersOf(s).includes(name)));
}

function staticMembers(entry: string, name: string): string[] {
  const symbol = ENTRIES.get(entry)!.flatMap(exportSymbols).find((s) => s.name === name);
  return symbol === undefined || !(resolve(symbol).flags & ts.SymbolFlags.Class)
    ? []
    : checker.getPropertiesOfType(checker.getTypeOfSymbol(resolve(symbol))).map((p) => p.name);
}

/** A name and the entry point a page shows it with. */
interface Shown {
  page: string;
  where: string;
  entry: string;
  name: string;
}

/** Named imports in the page's ```ts blocks, read by TypeScript's parser, so multi-line and `type` imports count. */
function imports(page: string): Shown[] {
  const shown: Shown[] = [];
  for (const [, block] of read(page).matchAll(/```ts\n([\s\S]*?)```/g)) {
    const source = ts.createSourceFile("block.ts", block!, ts.ScriptTarget.ES2022);
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement)) continue;
      const entry = (statement.moduleSpecifier as ts.StringLiteral).text;
      if (entry === "vitest" || entry.startsWith("node:")) continue;
      const bindings = statement.importClause?.namedBindings;
      const names = bindings !== undefined && ts.isNamedImports(bindings) ? bindings.elements.map((e) => (e.propertyName ?? e.name).text) : [];
      if (statement.importClause?.name !== undefined) names.push("default");
      for (const name of names) shown.push({ page, where: "import", entry, name });
    }
  }
  return shown;
}

/** Inline code spans of a markdown text. */
const spans = (text: string) => [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

/** A span naming a function or class: `Name`, `name(...)` or `Name.member(...)`; bare lowercase words are properties or values. */
const API = /^(?<name>[A-Za-z_$][\w$]*)(?:\.(?<member>[A-Za-z_$][\w$]*))?(?<call>\(.*\))?$/;

function apiNames(text: string): { name: string; member: string | undefined; call: boolean }[] {
  return spans(text).flatMap((span) => {
    const m = API.exec(span)?.groups;
    if (m === undefined) return [];
    const pascal = /^[A-Z][a-z]/.test(m.name!);
    if (m.member !== undefined && !pascal) return []; // `transport.write(...)`: a method of an object
    if (!pascal && m.call === undefined) return [];
    return [{ name: m.name!, member: m.member, call: m.call !== undefined }];
  });
}

/** The README's table of entry points: each row's specifiers, and the names it says they hold. */
function entryTable(): { entries: string[]; names: string[] }[] {
  const table = /^\| entry point \| what it holds \|\n\|[- |]+\|\n((?:\|.*\|\n)+)/m.exec(read("README.md"));
  expect(table, "README's entry point table").not.toBeNull();
  return table![1]!.trimEnd().split("\n").map((row) => {
    const [, first, second] = /^\| (.*?) \| (.*) \|$/.exec(row) ?? [];
    const entries: string[] = [];
    const same = `(same under \`${JSR.name}\`)`;
    for (const span of spans(first!.replace(same, ""))) {
      // `/deno` continues the specifier before it: `twine-net/adapters/bun`, `/deno`.
      if (span.startsWith("/")) entries.push(entries.at(-1)!.replace(/\/[^/]*$/, "") + span);
      else if (span.startsWith(NPM.name) || span.startsWith(JSR.name)) entries.push(span);
    }
    // "(same under `@twine/net`)": each npm specifier also under the JSR name.
    if (first!.includes(same)) {
      entries.push(...entries.filter((e) => e.startsWith(NPM.name)).map((e) => JSR.name + e.slice(NPM.name.length)));
    }
    return { entries, names: apiNames(second!).filter((n) => n.member === undefined).map((n) => n.name) };
  });
}

describe("package.json and deno.json", () => {
  test("export the same source file under every subpath both have", () => {
    for (const [subpath, target] of Object.entries(JSR.exports)) {
      const npm = ENTRIES.get(NPM.name + subpath.slice(1));
      if (npm !== undefined) expect(npm, `${subpath}`).toEqual([target.replace(/^\.\//, "")]);
    }
    expect(exported(NPM.name).size).toBeGreaterThan(50);
  });
});

describe.each(PAGES)("%s", (page) => {
  test("imports only from the packages' entry points, and only names they export", () => {
    const shown = imports(page);
    if (page === "README.md") expect(shown.length).toBeGreaterThan(6);
    for (const { entry, name } of shown) {
      expect([...ENTRIES.keys()], `${page} imports from ${entry}`).toContain(entry);
      expect(exported(entry).has(name), `${page} imports ${name} from ${entry}`).toBe(true);
    }
  });

  test("every function or class in an API at a glance list is exported by the main entry point, or is a member of an export", () => {
    const section = /^## API at a glance\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(read(page))?.[1];
    if (section === undefined) return;
    const entry = NPM.name;
    const names = apiNames(section);
    expect(names.map((n) => n.name)).toContain("Protocol");
    for (const { name, member, call } of names) {
      if (member !== undefined) {
        expect(exported(entry).has(name), `${page} shows ${name}.${member}: ${name} is not exported by ${entry}`).toBe(true);
        expect(staticMembers(entry, name), `${page} shows ${name}.${member}`).toContain(member);
      } else if (!exported(entry).has(name)) {
        // A method (`write(data)` in Transport's item) or a built-in (`RangeError`) is not an export.
        const ok = (call && isMember(entry, name)) || (!call && name in globalThis);
        expect(ok, `${page} shows \`${name}\` as API, but ${entry} does not export it (nor is it a member of an export)`).toBe(true);
      }
    }
  });

  test("a name said to be exported by an entry point is", () => {
    for (const [, name, entry] of read(page).matchAll(/`([A-Za-z_$][\w$]*)(?:\([^`]*\))?` \(exported by `([^`]+)`\)/g)) {
      expect([...ENTRIES.keys()], `${page}: exported by ${entry}`).toContain(entry);
      expect(exported(entry!).has(name!), `${page} says ${entry} exports ${name}`).toBe(true);
    }
  });
});

test("the README's entry point table names real entry points, and what each holds is exported by each", () => {
  const rows = entryTable();
  expect(rows.length).toBeGreaterThan(3);
  for (const { entries, names } of rows) {
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      expect([...ENTRIES.keys()], `README's table lists ${entry}`).toContain(entry);
      for (const name of names) expect(exported(entry).has(name), `README's table says ${entry} holds ${name}`).toBe(true);
    }
  }
  // Every entry point of either package is in the table, so a user can find it.
  const listed = new Set(rows.flatMap((r) => r.entries));
  for (const entry of ENTRIES.keys()) if (!entry.startsWith("jsr:")) expect([...listed], `README's table misses ${entry}`).toContain(entry);
});
