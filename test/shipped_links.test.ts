// Every relative link of every page either package ships leads to a file that package ships (and an anchor
// to a heading of that page), so the docs read from node_modules or from JSR have no dead links.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import process from "node:process";
import { beforeAll, describe, expect, test } from "vitest";
import { BINARIES, ROOT } from "../tools/runtimes.ts";

function output(command: string, args: string[]): string {
  const r = spawnSync(command, args, { cwd: ROOT, encoding: "utf8", timeout: 120_000, env: { ...process.env, NO_COLOR: "1" } });
  expect(r.status, `${command} ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return `${r.stdout}\n${r.stderr}`;
}

/** The files `npm pack` would put in the tarball; dist/ needs no build for this, links never lead into it. */
function npmFiles(): Set<string> {
  const out = output("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"]);
  const [packed] = JSON.parse(out.slice(out.indexOf("["), out.lastIndexOf("]") + 1)) as { files: { path: string }[] }[];
  return new Set(packed!.files.map((f) => f.path));
}

/** The files `deno publish` would upload to JSR. */
function jsrFiles(): Set<string> {
  const out = output(BINARIES.deno, ["publish", "--dry-run", "--allow-dirty"]);
  return new Set([...out.matchAll(/file:\/\/(\S+) \(/g)].map((m) => m[1]!.slice(ROOT.length)));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

function anchors(page: string): Set<string> {
  const text = readFileSync(join(ROOT, page), "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

/** Relative links and images of a markdown page, outside code blocks: [text](target) and [text]: target. */
function links(page: string): string[] {
  const text = readFileSync(join(ROOT, page), "utf8").replace(/```[\s\S]*?```/g, "");
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const reference = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...reference].filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

const packages: [string, () => Set<string>][] = [
  ["the npm package", npmFiles],
  ["the JSR package", jsrFiles],
];

describe.each(packages)("%s", (_name, list) => {
  let files: Set<string>;
  beforeAll(() => {
    files = list();
  }, 120_000);

  test("ships the README and every page under docs/", () => {
    expect([...files]).toEqual(expect.arrayContaining(["README.md", "docs/design.md", "docs/endpoints.md"]));
  });

  test("every relative link of every shipped page leads to a shipped file, and every anchor to a heading there", () => {
    const pages = [...files].filter((f) => f.endsWith(".md"));
    const dead: string[] = [];
    let checked = 0;
    for (const page of pages) {
      for (const link of links(page)) {
        checked++;
        const [path, anchor] = link.split("#") as [string, string | undefined];
        const target = path === "" ? page : posix.normalize(posix.join(posix.dirname(page), decodeURIComponent(path)));
        const isDir = [...files].some((f) => f.startsWith(`${target.replace(/\/$/, "")}/`));
        if (!files.has(target) && !isDir) dead.push(`${page} -> ${link}: not in the package`);
        else if (anchor !== undefined && target.endsWith(".md") && !anchors(target).has(anchor)) dead.push(`${page} -> ${link}: no such heading`);
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(dead).toEqual([]);
  });

  test("the examples and deploy files the README names are shipped", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const named = [...new Set([...readme.matchAll(/\b(?:examples|deploy)\/[\w.-]+\.\w+/g)].map((m) => m[0]))];
    expect(named).toEqual(expect.arrayContaining(["examples/upper.ts", "examples/chat.ts"]));
    for (const file of named) expect(files.has(file), `README names ${file}`).toBe(true);
  });
});
