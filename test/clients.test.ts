import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PAIRS, ROOT } from "../tools/runtimes.ts";
import { startProcess, startServer, type ServerProcess } from "../tools/server_process.ts";
import { fullBacklog } from "./helpers/full_backlog.ts";
import { run, waitForOutput } from "./helpers/run.ts";

const MiB = 1024 * 1024;
const client = (pair: (typeof PAIRS)[number], ...args: string[]) => [
  ...pair.command,
  "bin/echo-client.ts",
  "--adapter",
  pair.adapter,
  ...args,
];

describe("each runtime's client against each runtime's server over TCP", () => {
  const servers = new Map<string, ServerProcess>();

  beforeAll(async () => {
    for (const [name, server] of await Promise.all(PAIRS.map(async (p) => [p.name, await startServer(p, "bin/echo.ts")] as const))) {
      servers.set(name, server);
    }
  });

  afterAll(async () => {
    for (const server of servers.values()) expect((await server.stop()).code).toBe(0);
  });

  test.each(PAIRS)("$name client echoes 1 MiB exactly through every server", async (pair) => {
    const payload = randomBytes(MiB);
    const results = await Promise.all(
      PAIRS.map((s) => run(client(pair, "--connect", `tcp:host=127.0.0.1:port=${servers.get(s.name)!.port}`), payload)),
    );
    results.forEach((r, i) => {
      expect({ server: PAIRS[i]!.name, code: r.code, stderr: r.stderr }).toEqual({ server: PAIRS[i]!.name, code: 0, stderr: "" });
      expect(r.stdout.length).toBe(MiB);
      expect(r.stdout.equals(payload)).toBe(true);
    });
  });
});

describe.each(PAIRS)("$name client failures", (pair) => {
  test("a refused connection exits 1 with one line naming the address and the refusal", async () => {
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const r = await run(client(pair, "--connect", `tcp:host=127.0.0.1:port=${port}`, "--message", "x"));
    expect(r.stderr).toBe(`twine-echo-client: Cannot connect to 127.0.0.1:${port}: connection refused\n`);
    expect(r.code).toBe(1);
  });

  // ENOTFOUND and EHOSTUNREACH stay unit tests (test/client.test.ts): producing them would send a
  // DNS query or a packet off loopback.
  test("a connection that gets no answer within the timeout exits 1 with one line saying so", async () => {
    const silent = await fullBacklog();
    try {
      const started = Date.now();
      const r = await run(client(pair, "--connect", `tcp:host=127.0.0.1:port=${silent.port}:timeout=1`, "--message", "x"));
      expect(r.stderr).toBe(`twine-echo-client: Cannot connect to 127.0.0.1:${silent.port}: timed out after 1 s\n`);
      expect(r.code).toBe(1);
      // Linux retries a SYN after 1 s, 3 s, 7 s...: the client's own timer must be what ended it.
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await silent.close();
    }
  });

  test("a reply that differs exits 1 saying at which byte", async () => {
    const liar = net.createServer({ allowHalfOpen: true }, (sock) => {
      sock.on("data", () => {});
      sock.on("end", () => sock.end("hellO"));
    });
    await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", resolve));
    const port = (liar.address() as net.AddressInfo).port;
    const r = await run(client(pair, "--connect", `tcp:host=127.0.0.1:port=${port}`, "--message", "hello"));
    liar.close();
    expect(r.stdout.toString()).toBe("hellO");
    expect(r.stderr).toBe("twine-echo-client: Reply differs from what was sent at byte 4: sent 5 bytes, received 5\n");
    expect(r.code).toBe(1);
  });

  test("a malformed endpoint exits 2 with one line naming the wrong part", async () => {
    const r = await run(client(pair, "--connect", "tcp:host=127.0.0.1", "--message", "x"));
    expect(r.stderr).toBe("twine-echo-client: Cannot parse client endpoint 'tcp:host=127.0.0.1': missing port\n");
    expect(r.code).toBe(2);
  });

  test("a reconnecting client connects again after its server restarts", async () => {
    const node = PAIRS.find((p) => p.runtime === "node")!;
    const first = await startServer(node, "bin/echo.ts", ["--grace", "0"]);
    const reconnecting = spawnClient(pair, first.port);
    try {
      await waitForOutput(reconnecting.output, /connected 1/);
      expect((await first.stop()).code).toBe(0);
      await waitForOutput(reconnecting.output, /lost/);
      const second = await startProcess("restarted", [...node.command, "bin/echo.ts", "--grace", "0", "--port", String(first.port)]);
      try {
        await waitForOutput(reconnecting.output, /connected 2/);
      } finally {
        await second.stop();
      }
    } finally {
      await reconnecting.stop();
    }
  });
});

function spawnClient(pair: (typeof PAIRS)[number], port: number) {
  let output = "";
  const child = spawn(
    pair.command[0]!,
    [...pair.command.slice(1), "test/fixtures/reconnect_client.ts", "--port", String(port), "--adapter", pair.adapter],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
  return {
    output: () => output,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
