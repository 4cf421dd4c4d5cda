import { readdirSync, readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { ROOT } from "../tools/runtimes.ts";

// The core must run anywhere: a runtime global or node: import in src/ would tie it to one.
test("src/ uses no runtime globals and no node: imports", () => {
  const offences: string[] = [];
  for (const file of readdirSync(`${ROOT}src`, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))) {
    const code = readFileSync(`${ROOT}src/${file}`, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    for (const pattern of [/\bBun\./, /\bDeno\./, /["']node:/, /\bprocess\./, /\bBuffer\b/, /\brequire\(/]) {
      if (pattern.test(code)) offences.push(`${file}: ${pattern}`);
    }
  }
  expect(offences).toEqual([]);
});
