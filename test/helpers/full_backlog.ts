import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { BINARIES } from "../../tools/runtimes.ts";

/** A loopback port whose accept queue is full, so that Linux drops every further SYN. */
export interface FullBacklog {
  readonly port: number;
  close(): Promise<void>;
}

// Listens with a backlog of 1, then blocks its own event loop so that it never accepts.
const LISTENER = `const s = require("node:net").createServer();
s.listen({ host: "127.0.0.1", port: 0, backlog: 1 }, () => {
  process.stdout.write(s.address().port + "\\n", () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000));
});`;

/**
 * Starts a listener that never accepts and fills its accept queue from here: a connection to it
 * then gets no answer at all, the one way to make a connect time out without leaving loopback.
 *
 * @returns The port, and how to close the listener and the connections that fill it.
 * @throws {Error} If the queue does not fill within 16 connections.
 */
export async function fullBacklog(): Promise<FullBacklog> {
  const child = spawn(BINARIES.node, ["-e", LISTENER], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(child.stdout, "data")) as [Buffer];
  const port = Number(line.toString().trim());
  const fillers: net.Socket[] = [];
  const close = async () => {
    for (const s of fillers) s.destroy();
    if (child.exitCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  };
  // Linux holds backlog + 1 connections; the first one that stays unanswered shows the queue is full.
  for (let i = 0; i < 16; i++) {
    const sock = net.connect(port, "127.0.0.1");
    sock.on("error", () => {});
    fillers.push(sock);
    const answered = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 500);
      sock.once("connect", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!answered) return { port, close };
  }
  await close();
  throw new Error(`the accept queue of 127.0.0.1:${port} did not fill within 16 connections`);
}
