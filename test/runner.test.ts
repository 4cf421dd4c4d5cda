// The runner as a library: serve() without any command, services, the control channel, and a program of its own with workers.
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { afterAll, describe, expect, test } from "vitest";
import { ControlChannel, ControlServer, joinSupervisor } from "../runner/control.ts";
import {
  type LogLevel,
  MultiService,
  serve,
  Service,
  service,
  type ServiceContext,
  StreamServerEndpointService,
} from "../runner/mod.ts";
import { EchoDatagramProtocol, EchoFactory, Factory } from "../src/mod.ts";
import { BINARIES, PAIRS } from "../tools/runtimes.ts";
import { startProcess } from "../tools/server_process.ts";
import { collect, connect, echo } from "./helpers/client.ts";

const dir = mkdtempSync(`${tmpdir()}/twr-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recorder() {
  const lines: [string, LogLevel][] = [];
  return { lines, log: (line: string, level: LogLevel) => lines.push([line, level]) };
}

describe("serve() in this process", () => {
  test("listens on every endpoint, says where, counts connections, and stop() drains into one summary", async () => {
    const { lines, log } = recorder();
    const path = `${dir}/lib.sock`;
    const sigterms = process.listenerCount("SIGTERM");
    const app = await serve(new EchoFactory(), { listen: ["tcp:0", `unix:${path}`], signals: false, log, name: "Library echo" });
    // signals: false leaves the process's signals alone.
    expect(process.listenerCount("SIGTERM")).toBe(sigterms);
    expect(app.workers).toBe(1);
    expect(app.ports).toHaveLength(1);
    expect(app.addresses).toEqual([`127.0.0.1:${app.ports[0]}`, `unix:${path}`]);
    expect(app.listeners.map((l) => l.endpoint)).toEqual([`tcp:${app.ports[0]}:interface=127.0.0.1`, `unix:${path}:mode=666`]);
    expect(lines).toEqual([[`Library echo listening on 127.0.0.1:${app.ports[0]}, unix:${path} (node ${process.versions.node}, adapter node:net)`, "info"]]);
    expect((await echo(app.ports[0]!, new TextEncoder().encode("tcp"))).received.toString()).toBe("tcp");
    expect((await echo(path, new TextEncoder().encode("unix"))).received.toString()).toBe("unix");
    const [status] = await app.status();
    expect(status).toMatchObject({ worker: 0, pid: process.pid, connections: 0, counts: { connections: 2 } });
    const summary = await app.stop("the test");
    expect(summary).toEqual({
      reason: "the test",
      code: 0,
      counts: { connections: 2 },
      workers: [],
      line: "Stopped on the test: served 2 connections",
    });
    expect(lines.at(-1)).toEqual(["Stopped on the test: served 2 connections", "info"]);
    expect(await app.stopped).toBe(summary);
    // Stopped means closed: nothing listens any more.
    await expect(connect(app.ports[0]!)).rejects.toThrow(/ECONNREFUSED/);
  });

  test("a service builder gets where to listen, and its service runs as given", async () => {
    let seen: ServiceContext | undefined;
    const app = await serve(
      (context) => {
        seen = context;
        return new MultiService(context.listen.map((e) => new StreamServerEndpointService(e, new EchoFactory(), context.listenOptions)));
      },
      { listen: ["tcp:0"], signals: false, log: false, maxConnections: 3 },
    );
    try {
      expect(seen).toMatchObject({ workers: 1, worker: undefined, listenOptions: { maxConnections: 3 } });
      expect(seen!.listen).toEqual([{ type: "tcp", port: 0, host: "127.0.0.1" }]);
      expect(app.service.name).toBe("Server");
    } finally {
      await app.stop();
    }
  });

  test.each([
    [{ grace: -1 }, RangeError, "Cannot serve with grace -1: must be a number of seconds of at least 0"],
    [{ grace: "5" }, TypeError, "Cannot serve with grace 5: not a number of seconds"],
    [{ workers: 0 }, RangeError, 'Cannot serve with workers 0: must be an integer of at least 1, or "auto"'],
    [{ workers: "all" }, TypeError, 'Cannot serve with workers all: must be an integer of at least 1, or "auto"'],
    [{ adapter: "uv" }, TypeError, "Cannot serve with adapter 'uv': expected native or node"],
    [{ listen: ["sctp:1"] }, TypeError, "Cannot parse server endpoint 'sctp:1': unknown endpoint type 'sctp' (expected tcp, tcp6, ssl, unix, udp)"],
    [{ maxConnections: 0 }, RangeError, "Cannot listen with maxConnections 0: must be a number of at least 1"],
    [{ listen: ["udp:0"] }, TypeError, "Cannot serve 'udp:0:interface=127.0.0.1' with a factory: udp: takes a DatagramProtocol"],
  ])("rejects %j with a one-line %s", async (options, kind, message) => {
    const served = serve(new EchoFactory(), { signals: false, log: false, ...(options as object) });
    await expect(served).rejects.toThrow(kind);
    await expect(served).rejects.toThrow(message);
  });

  test("rejects what is neither a factory, a service nor a builder", async () => {
    await expect(serve(42 as never, { log: false })).rejects.toThrow(new TypeError("Cannot serve: expected a Factory, a Service or a function that builds a Service"));
  });

  test("a port in use rejects with the core's ListenError and leaves nothing listening", async () => {
    const taken = await serve(new EchoFactory(), { listen: ["tcp:0"], signals: false, log: false });
    const path = `${dir}/left.sock`;
    try {
      const clash = serve(new EchoFactory(), { listen: [`unix:${path}`, `tcp:${taken.ports[0]}`], signals: false, log: false });
      await expect(clash).rejects.toThrow(`Cannot listen on 127.0.0.1:${taken.ports[0]}: address already in use`);
      // The Unix socket it had bound first was closed again.
      await expect(connect(path)).rejects.toThrow();
    } finally {
      await taken.stop();
    }
  });
});

describe("services", () => {
  class Recorded extends Service {
    readonly label: string;
    readonly events: string[];
    readonly fail: boolean;
    constructor(label: string, events: string[], fail = false) {
      super();
      this.label = label;
      this.events = events;
      this.fail = fail;
    }
    override async startService(): Promise<void> {
      if (this.fail) throw new Error(`${this.label} cannot start`);
      this.events.push(`start ${this.label}`);
      await super.startService();
    }
    override async stopService(): Promise<void> {
      this.events.push(`stop ${this.label}`);
      await super.stopService();
    }
  }

  test("a MultiService starts its services in order, stops them in reverse, and stops once however often asked", async () => {
    const events: string[] = [];
    const all = new MultiService(["a", "b", "c"].map((l) => new Recorded(l, events)));
    await all.startService();
    expect(all.running).toBe(true);
    const first = all.stopService();
    expect(all.stopService()).toBe(first);
    await first;
    expect(events).toEqual(["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
    expect(all.running).toBe(false);
    expect(all.services.every((s) => !s.running)).toBe(true);
  });

  test("a service that cannot start stops those started before it, and the failure reaches the caller", async () => {
    const events: string[] = [];
    const all = new MultiService([new Recorded("a", events), new Recorded("b", events), new Recorded("c", events, true)]);
    await expect(all.startService()).rejects.toThrow("c cannot start");
    expect(events).toEqual(["start a", "start b", "stop b", "stop a"]);
    expect(all.running).toBe(false);
  });

  test("a service belongs to one parent", () => {
    const one = new MultiService();
    const child = new Service();
    child.setServiceParent(one);
    expect(child.parent).toBe(one);
    expect(() => new MultiService().addService(child)).toThrow("Cannot add a service that already has a parent");
    one.removeService(child);
    expect(child.parent).toBeUndefined();
  });

  test("service() takes a factory for a stream endpoint and a DatagramProtocol for udp:, and refuses them the other way round", async () => {
    const tcp = service("tcp:0", new EchoFactory());
    const udp = service("udp:0", new EchoDatagramProtocol());
    await tcp.startService();
    await udp.startService();
    try {
      expect(tcp.listeners()[0]).toMatchObject({ kind: "stream", type: "tcp" });
      expect(udp.listeners()[0]).toMatchObject({ kind: "datagram", type: "udp", where: expect.stringMatching(/^UDP 127\.0\.0\.1:\d+$/) });
    } finally {
      await tcp.stopService();
      await udp.stopService();
    }
    expect(() => service("udp:0", new EchoFactory())).toThrow(TypeError);
    expect(() => service("tcp:0", new EchoDatagramProtocol())).toThrow(TypeError);
  });
});

describe("the control channel", () => {
  test("request and response both ways, an error answered as a rejection, and pending requests rejected when it closes", async () => {
    const server = await ControlServer.open();
    try {
      const admission = server.admit();
      const joining = joinSupervisor(admission.environment, 4242);
      const { channel: supervisorSide, hello } = await admission.joined;
      expect(hello).toMatchObject({ type: "hello", pid: 4242 });
      supervisorSide.onRequest = (method, params) => {
        if (method === "add") return (params as number[]).reduce((a, b) => a + b, 0);
        throw new Error("no such thing");
      };
      supervisorSide.send({ type: "config", worker: 3, listen: ["tcp:0"] });
      const { channel: workerSide, config } = await joining;
      expect(config).toEqual({ type: "config", worker: 3, listen: ["tcp:0"] });
      workerSide.onRequest = (method) => ({ asked: method });
      expect(await workerSide.request("add", [1, 2, 3])).toBe(6);
      await expect(workerSide.request("subtract", [])).rejects.toThrow("no such thing");
      expect(await supervisorSide.request("status")).toEqual({ asked: "status" });
      // Never answered: the channel closing rejects it.
      supervisorSide.onRequest = () => new Promise(() => {});
      const pending = workerSide.request("hang");
      supervisorSide.close();
      await expect(pending).rejects.toThrow("Cannot get an answer: the control channel closed");
      await workerSide.closed;
    } finally {
      await server.close();
    }
  });

  test("a connection without the token is closed, and the token works once", async () => {
    const server = await ControlServer.open();
    try {
      const admission = server.admit();
      const port = Number(admission.environment.split(":")[1]);
      const stranger = await connect(port);
      const closed = collect(stranger);
      stranger.write('{"type":"hello","token":"00000000000000000000000000000000","pid":1}\n');
      expect((await closed).received.length).toBe(0);
      const first = joinSupervisor(admission.environment, 1);
      (await admission.joined).channel.send({ type: "config", worker: 1, listen: [] });
      await first;
      await expect(joinSupervisor(admission.environment, 2)).rejects.toThrow("Cannot join the supervisor: it closed the control channel");
    } finally {
      await server.close();
    }
  });

  test("a malformed line closes the channel", async () => {
    const channel = new ControlChannel();
    const factory = new Factory();
    factory.buildProtocol = () => channel;
    const { MemoryTransport } = await import("../src/mod.ts");
    const t = new MemoryTransport();
    t.connect(channel);
    t.receive("not json\n");
    expect(t.aborted).toBe(true);
  });
});

// A program of its own, run as a user runs it: its flags are not twine's, and with workers it runs again in each.
describe.each(PAIRS.filter((p) => p.adapter === "native"))("a program that calls serve() on $runtime", (pair) => {
  const command = (args: string[]) => {
    const runtime = pair.runtime === "deno" ? [BINARIES.deno, "run", "--allow-net", "--allow-run", "--allow-env", "--no-prompt"] : pair.command;
    return [...runtime, "test/fixtures/serve_app.ts", "--tag", "mine", ...args];
  };

  test("drains on SIGTERM, saying so first, and settles stopped with one summary", async () => {
    const server = await startProcess(pair.name, command([]));
    const sock = await connect(server.port);
    expect((await collect(sock)).received.toString()).toMatch(/^mine \d+\n$/);
    const { code, output } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    expect(output).toMatch(/^Tagged listening on 127\.0\.0\.1:\d+ \(/m);
    expect(output).toMatch(/^Stopping on SIGTERM: \d+ connections? draining for up to 1 s \(SIGTERM again stops at once\)$/m);
    expect(output).toMatch(/^Stopped on SIGTERM: served 1 connection\nsummary \{"connections":1\} 0$/m);
  });

  // Regression: with signals: false in the program, its workers had no handler either, and died of the SIGTERM that stop() sends them.
  test("with signals: false and workers: 2, stop() still drains every worker into one summary", async () => {
    const server = await startProcess(pair.name, command(["--workers", "2", "--no-signals", "--stop-after-ms", "1500"]));
    const [code] = (await once(server.child, "close")) as [number | null];
    const output = server.output();
    expect(code, output).toBe(0);
    expect(output).toMatch(/^Stopped on timer: served 0 connections over 2 workers \(0 \+ 0 connections\)$/m);
    expect(output).toMatch(/^summary \{"connections":0\} 0$/m);
  });

  test("with signals: false, app.reload() replaces the workers and no SIGHUP handler is installed", async () => {
    const server = await startProcess(pair.name, command(["--workers", "2", "--no-signals", "--reload", "--stop-after-ms", "100"]));
    const [code] = (await once(server.child, "close")) as [number | null];
    const output = server.output();
    expect(code, output).toBe(0);
    expect(output).toMatch(/^reload \{"ok":true,"line":"Reloaded: 2 workers \(pids \d+, \d+\) replaced 2"\} SIGHUP handlers 0$/m);
    expect(output).toMatch(/^Stopped on timer: served 0 connections over 4 workers \(0 \+ 0 \+ 0 \+ 0 connections\)$/m);
  });

  test("without workers, app.reload() says there is nothing to reload", async () => {
    const server = await startProcess(pair.name, command(["--no-signals", "--reload", "--stop-after-ms", "100"]));
    const [code] = (await once(server.child, "close")) as [number | null];
    const output = server.output();
    expect(code, output).toBe(0);
    expect(output).toMatch(/^reload \{"ok":false,"line":"SIGHUP: nothing to reload \(no ssl: listener; run with --workers to reload code\)"\} SIGHUP handlers 0$/m);
  });

  test("with workers: 2, runs itself again in each worker with its own flags, and status() asks each over the control channel", async () => {
    const server = await startProcess(pair.name, command(["--workers", "2"]));
    try {
      await expect.poll(() => server.output(), { timeout: 10_000 }).toMatch(/^status /m);
      const status = JSON.parse(/^status (.*)$/m.exec(server.output())![1]!) as { worker: number; pid: number }[];
      expect(status.map((s) => s.worker).sort()).toEqual([1, 2]);
      const pids = [...server.output().matchAll(/^Worker \d+ started \(pid (\d+)\)$/gm)].map((m) => Number(m[1]));
      expect(status.map((s) => s.pid).sort()).toEqual(pids.sort());
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 2; i++) {
        const sock = await connect(server.port);
        const text = (await collect(sock)).received.toString();
        expect(text).toMatch(/^mine \d+\n$/);
        seen.add(text);
      }
      expect(seen.size).toBe(2);
    } finally {
      const { code, output } = await server.stop("SIGTERM");
      expect(code).toBe(0);
      expect(output).toMatch(/^Stopped on SIGTERM: served \d+ connections? over 2 workers \(\d+ \+ \d+ connections\)$/m);
      expect(output).toMatch(/^summary \{"connections":\d+\} 0$/m);
    }
  });
});
