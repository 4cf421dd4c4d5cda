#!/usr/bin/env node
/**
 * `twine-serve MODULE [options]`: serves a module's Factory or service maker, or a built-in
 * service (`echo`, `discard`, `chargen`, `daytime`): `node bin/serve.ts examples/chat.ts --port 8000`,
 * `bun run bin/serve.ts …`, `deno run --allow-net --allow-read bin/serve.ts …`.
 *
 * @module
 */
import process from "node:process";
import "./compile_cache.ts";

// Loaded once the compile cache is on, so that it covers them.
const { runServeCommand } = await import("./serve_command.ts");

await runServeCommand("twine-serve", process.argv.slice(2));
