import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { BINARIES, PAIRS, ROOT } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";
import { udpCommand } from "../tools/udp.ts";
import { bindClient, burst, echoMany, roundTrip } from "./helpers/udp_client.ts";
import { withServer } from "./helpers/with_server.ts";

const run = promisify(execFile);

describe.each(PAIRS)("$name UDP echo", (pair) => {
  const start = (args: string[] = []) =>
    startProcess(pair.name, [...udpCommand(pair), "bin/echo.ts", "--port", "0", "--adapter", pair.adapter, "--udp", "--grace", "0", ...args]);

  test("serves TCP and UDP on the same port and echoes 1,000 datagrams of up to 8 KiB exactly, to the right source", async () => {
    await withServer(start(["--udp-rate", "0"]), async (server) => {
      expect(server.output()).toMatch(new RegExp(`listening on 127\\.0\\.0\\.1:${server.port} and UDP 127\\.0\\.0\\.1:${server.port} `));
      const tally = await echoMany(server.port, 1000, 8192);
      expect(tally).toEqual({ sent: 1000, echoed: 1000, lost: 0, wrong: 0 });
      // The biggest datagram IPv4 carries comes back whole too.
      const sock = await bindClient();
      try {
        const big = new Uint8Array(65_507).map((_, i) => i * 7);
        expect(await roundTrip(sock, server.port, big)).toEqual(Buffer.from(big));
      } finally {
        sock.close();
      }
    });
  });

  test("goes on serving after clients close before their replies arrive (ICMP port unreachable)", async () => {
    await withServer(start(["--udp-rate", "0"]), async (server) => {
      for (let i = 0; i < 5; i++) {
        const gone = await bindClient();
        // Close once the last of a burst is sent: the server is still answering the burst.
        await new Promise<void>((resolve) => {
          for (let j = 0; j < 200; j++) gone.send(`gone ${j}`, server.port, "127.0.0.1", j === 199 ? () => resolve() : undefined);
        });
        gone.close();
      }
      const sock = await bindClient();
      try {
        // The bursts may have filled the server's receive buffer, dropping a datagram or two: UDP may lose, so ask again.
        for (let i = 0; i < 5; i++) {
          let reply: string | undefined;
          for (let attempt = 0; attempt < 5 && reply === undefined; attempt++) {
            const got = (await roundTrip(sock, server.port, `still ${i}`, 1000))?.toString();
            if (got === `still ${i}`) reply = got;
          }
          expect(reply).toBe(`still ${i}`);
        }
      } finally {
        sock.close();
      }
    });
  });

  test("answers over IPv6 loopback (--host ::1)", async () => {
    await withServer(start(["--host", "::1"]), async (server) => {
      const sock = dgram.createSocket("udp6");
      sock.bind(0, "::1");
      await once(sock, "listening");
      try {
        const reply = new Promise<[Buffer, dgram.RemoteInfo]>((resolve) => sock.once("message", (m, r) => resolve([m, r])));
        sock.send("over v6", server.port, "::1");
        const [msg, from] = await reply;
        expect([msg.toString(), from.address, from.port]).toEqual(["over v6", "::1", server.port]);
      } finally {
        sock.close();
      }
    });
  });

  test("does not answer a datagram from source port 19 (chargen), and says so on shutdown", async () => {
    const server = await start();
    let chargen: dgram.Socket | undefined;
    try {
      chargen = await bindClient(19);
    } catch (error) {
      await server.stop();
      throw new Error(`Cannot bind UDP port 19 for this test (needs root): ${(error as Error).message}`);
    }
    const other = await bindClient();
    try {
      let answered = 0;
      chargen.on("message", () => answered++);
      chargen.send("from chargen", server.port, "127.0.0.1");
      // Datagrams are served in order: once a later one is answered, the first was dealt with.
      expect((await roundTrip(other, server.port, "after"))?.toString()).toBe("after");
      expect(answered).toBe(0);
    } finally {
      chargen.close();
      other.close();
    }
    const { code, output } = await server.stop();
    expect(code).toBe(0);
    expect(output).toMatch(/UDP: echoed 1 datagrams \(5 bytes\), ignored 1 from ports below 1024/);
  });

  test("enforces --udp-rate per source address, and lets the source go on after a second", async () => {
    await withServer(start(["--udp-rate", "20"]), async (server) => {
      const sock = await bindClient();
      const other = await bindClient();
      try {
        const first = await burst(sock, server.port, 200);
        // A burst of 20, plus 20 a second refilled while the burst was served (slow on a loaded machine): far below 200.
        expect(first).toBeGreaterThanOrEqual(20);
        expect(first).toBeLessThanOrEqual(60);
        // Another source has its own bucket.
        expect((await roundTrip(other, server.port, "me too"))?.toString()).toBe("me too");
        await new Promise((r) => setTimeout(r, 1100));
        expect(await burst(sock, server.port, 10)).toBe(10);
      } finally {
        sock.close();
        other.close();
      }
    });
  });
});

test("Deno without --unstable-net says which flag UDP needs, in one line", async () => {
  const result = await run(BINARIES.deno, ["run", "--allow-net", "--no-prompt", "bin/echo.ts", "--port", "0", "--udp"], {
    cwd: ROOT,
  }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  expect("code" in result ? result.code : 0).toBe(1);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stderr).toMatch(/^twine-echo: Cannot listen on UDP 127\.0\.0\.1:\d+: .*--unstable-net/);
});

test("--udp-rate rejects what is not a count", async () => {
  const result = await run(BINARIES.node, ["bin/echo.ts", "--udp", "--udp-rate", "fast"], { cwd: ROOT }).catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect("code" in result ? result.code : 0).toBe(2);
  expect(result.stderr).toBe("twine-echo: Invalid --udp-rate 'fast': expected an integer of at least 0\n");
});
