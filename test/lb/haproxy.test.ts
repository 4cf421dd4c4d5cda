import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { collect, connect, echo, Pattern, writeAll } from "../helpers/client.ts";
import { PAIRS, ROOT } from "../../tools/runtimes.ts";
import { type ServerProcess, startServer } from "../../tools/server_process.ts";

/** The three backends of deploy/haproxy.cfg: one per runtime, each on its native adapter. */
const BACKENDS = { bun: "bun native", deno: "deno native", node: "node" } as const;
type Name = keyof typeof BACKENDS;

function haproxyPath(): string {
  try {
    return execFileSync("sh", ["-c", "command -v haproxy"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("HAProxy is not installed: install it with `apt-get install haproxy` (.ci/run does)");
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Cluster {
  port: number;
  backends: Record<Name, ServerProcess>;
  /** Each server's status as HAProxy sees it: UP, DOWN, ... */
  status(): Promise<Record<string, string>>;
  /** The client ports each backend logged as the real peer. */
  clientPorts(name: Name): Set<number>;
  haproxyOutput(): string;
}

async function stats(socketPath: string): Promise<Record<string, string>> {
  const sock = net.connect({ path: socketPath });
  sock.end("show stat\n");
  let text = "";
  sock.setEncoding("utf8").on("data", (s: string) => (text += s));
  await once(sock, "close");
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const f = line.split(",");
    if (f[0] === "twine_servers" && f[1] !== "BACKEND") out[f[1]!] = f[17]!;
  }
  return out;
}

/** Starts the three backends and HAProxy from deploy/haproxy.cfg as is, runs `use`, and stops everything. */
async function withCluster(use: (cluster: Cluster) => Promise<void>): Promise<void> {
  const haproxy = haproxyPath();
  const dir = mkdtempSync(join(tmpdir(), "twine-lb-"));
  const statsSocket = join(dir, "stats.sock");
  const started: Partial<Record<Name, ServerProcess>> = {};
  let lb: ChildProcess | undefined;
  try {
    for (const name of Object.keys(BACKENDS) as Name[]) {
      const pair = PAIRS.find((p) => p.name === BACKENDS[name])!;
      started[name] = await startServer(pair, "test/fixtures/proxy_echo.ts", ["--proxy-protocol", "--grace", "20"]);
    }
    const backends = started as Record<Name, ServerProcess>;
    const port = await freePort();
    let lbOutput = "";
    lb = spawn(haproxy, ["-db", "-f", "deploy/haproxy.cfg"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        TWINE_LB_BIND: `127.0.0.1:${port}`,
        TWINE_BUN: `127.0.0.1:${backends.bun.port}`,
        TWINE_DENO: `127.0.0.1:${backends.deno.port}`,
        TWINE_NODE: `127.0.0.1:${backends.node.port}`,
        TWINE_LB_STATS: statsSocket,
      },
    });
    lb.stdout!.setEncoding("utf8").on("data", (s: string) => (lbOutput += s));
    lb.stderr!.setEncoding("utf8").on("data", (s: string) => (lbOutput += s));
    const status = () => stats(statsSocket);
    await expect.poll(() => status().catch(() => ({})), { timeout: 20_000, interval: 200 }).toEqual({
      bun: "UP",
      deno: "UP",
      node: "UP",
    });
    await use({
      port,
      backends,
      status,
      clientPorts(name) {
        const ports = new Set<number>();
        for (const m of backends[name].output().matchAll(/^connection from 127\.0\.0\.1:(\d+) to 127\.0\.0\.1:(\d+)/gm)) {
          // The destination is HAProxy's frontend; health checks come from HAProxy itself as LOCAL.
          if (Number(m[2]) === port) ports.add(Number(m[1]));
        }
        return ports;
      },
      haproxyOutput: () => lbOutput,
    });
  } finally {
    if (lb !== undefined && lb.exitCode === null) {
      lb.kill("SIGTERM");
      await once(lb, "exit");
    }
    for (const server of Object.values(started)) await server.stop("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

const MiB = 1024 * 1024;

describe("HAProxy in front of Bun, Deno and Node with send-proxy-v2", () => {
  test("100 clients echo 1 MiB each through HAProxy, every byte checked, and each backend reports the real client ports", async () => {
    await withCluster(async (cluster) => {
      const pattern = new Pattern();
      const clientPorts: number[] = [];
      const results = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const sock = await connect(cluster.port);
          clientPorts.push(sock.localPort!);
          const result = collect(sock, 120_000);
          await writeAll(sock, [pattern.slice(i * 7919, MiB)]);
          return { i, ...(await result) };
        }),
      );
      for (const r of results) {
        expect(r.error).toBeUndefined();
        expect(r.received.length).toBe(MiB);
        expect(pattern.mismatch(r.i * 7919, r.received)).toBe(-1);
      }
      // Every client's own port reached exactly one backend, through the PROXY header (logs arrive through pipes: poll).
      const seen = () => (["bun", "deno", "node"] as const).map((name) => cluster.clientPorts(name));
      await expect.poll(() => clientPorts.filter((port) => seen().filter((s) => s.has(port)).length !== 1)).toEqual([]);
      for (const ports of seen()) expect(ports.size).toBeGreaterThan(10);
    });
  });

  test("SIGTERM to one backend while clients run loses no accepted connection's data, and new connections go to the others", async () => {
    await withCluster(async (cluster) => {
      const pattern = new Pattern();
      const socks = await Promise.all(Array.from({ length: 30 }, () => connect(cluster.port)));
      const results = socks.map((sock) => collect(sock, 120_000));
      const first = socks.map((sock) => new Promise<void>((resolve) => sock.once("data", () => resolve())));
      await Promise.all(socks.map((sock) => writeAll(sock, [pattern.slice(0, MiB / 2)], false)));
      // Each connection has reached its backend once some of its bytes came back.
      await Promise.all(first);
      const ports = socks.map((s) => s.localPort!);
      await expect.poll(() => ports.filter((p) => cluster.clientPorts("deno").has(p)).length).toBeGreaterThan(0);
      const stopped = cluster.backends.deno.stop("SIGTERM");
      await Promise.all(socks.map((sock) => writeAll(sock, [pattern.slice(MiB / 2, MiB / 2)])));
      for (const r of await Promise.all(results)) {
        expect(r.error).toBeUndefined();
        expect(r.received.length).toBe(MiB);
        expect(pattern.mismatch(0, r.received)).toBe(-1);
      }
      expect((await stopped).code).toBe(0);
      // The stopped server refuses at once; HAProxy retries those on another server, even before its check says DOWN.
      const meanwhile = await Promise.all(Array.from({ length: 20 }, (_, i) => echo(cluster.port, pattern.slice(i, 4096))));
      for (const [i, r] of meanwhile.entries()) {
        expect(r.error).toBeUndefined();
        expect(pattern.mismatch(i, r.received)).toBe(-1);
        expect(r.received.length).toBe(4096);
      }
      await expect.poll(() => cluster.status(), { timeout: 10_000, interval: 200 }).toMatchObject({ deno: "DOWN" });
      const after = await Promise.all(Array.from({ length: 20 }, async () => {
        const sock = await connect(cluster.port);
        const port = sock.localPort!;
        const result = collect(sock, 30_000);
        await writeAll(sock, [pattern.slice(0, 1000)]);
        return { port, ...(await result) };
      }));
      for (const r of after) expect(r.received.length).toBe(1000);
      const elsewhere = (port: number) => cluster.clientPorts("bun").has(port) || cluster.clientPorts("node").has(port);
      await expect.poll(() => after.filter((r) => !elsewhere(r.port))).toEqual([]);
    });
  });

  test("SIGKILL to one backend: HAProxy marks it down and new connections succeed throughout", async () => {
    await withCluster(async (cluster) => {
      // Wait for the exit: a connection the kernel queued on the dying process before
      // its listener closed is reset after HAProxy has sent data, which no balancer can retry.
      await cluster.backends.node.stop("SIGKILL");
      let down = false;
      let afterDown = 0;
      const deadline = Date.now() + 30_000;
      for (let i = 0; Date.now() < deadline && afterDown < 30; i++) {
        const payload = new TextEncoder().encode(`client ${i}`);
        const { received, error } = await echo(cluster.port, payload);
        expect(error).toBeUndefined();
        expect(received.toString()).toBe(`client ${i}`);
        if (!down) down = (await cluster.status()).node === "DOWN";
        else afterDown++;
      }
      expect(down).toBe(true);
      expect(cluster.haproxyOutput()).toMatch(/Server twine_servers\/node is DOWN/);
    });
  });
});
