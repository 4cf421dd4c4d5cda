#!/usr/bin/env node
/**
 * The echo client, `twine-echo-client`: connects to an echo server, sends a message (or stdin),
 * prints what comes back, and exits 0 only if every byte came back identical, as Twisted's
 * echoclient. `node bin/echo-client.ts --connect tcp:host=127.0.0.1:port=8000 --message hello`.
 *
 * @module
 */
import process from "node:process";
import "./compile_cache.ts";

// Loaded once the compile cache is on, so that it covers them.
const { runEchoClient } = await import("./echo_client_command.ts");
await runEchoClient(process.argv.slice(2));
