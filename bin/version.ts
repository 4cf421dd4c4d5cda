/** twine's version, as package.json and deno.json give it (test/version.test.ts keeps them equal). */
export const VERSION = "0.1.0";
