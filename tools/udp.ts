import type { Pair } from "./runtimes.ts";

/**
 * The command that starts a script on `pair` with UDP available: Deno's
 * `Deno.listenDatagram` is behind `--unstable-net`, and `node:dgram` needs nothing.
 */
export function udpCommand(pair: Pair): readonly string[] {
  return pair.runtime === "deno" ? [...pair.command, "--unstable-net"] : pair.command;
}
