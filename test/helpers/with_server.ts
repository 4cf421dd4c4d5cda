import { expect } from "vitest";
import type { ServerProcess } from "../../tools/server_process.ts";

/**
 * Runs `use` against a server once it has started, then stops it with SIGTERM and
 * checks that it exits 0, whatever `use` did: every test is a shutdown test too.
 */
export async function withServer(started: Promise<ServerProcess>, use: (server: ServerProcess) => Promise<void>): Promise<void> {
  const server = await started;
  try {
    await use(server);
  } finally {
    expect((await server.stop()).code).toBe(0);
  }
}
