#!/usr/bin/env node
/**
 * The echo server, `twine-echo`: `twine-serve echo` under its own name.
 * `node bin/echo.ts`, `bun run bin/echo.ts`, `deno run --allow-net bin/echo.ts`.
 *
 * @module
 */
import process from "node:process";
import "./compile_cache.ts";

// Loaded once the compile cache is on, so that it covers them.
const { runServeCommand } = await import("./serve_command.ts");
await runServeCommand("twine-echo", process.argv.slice(2), "echo");
