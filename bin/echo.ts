#!/usr/bin/env node
/**
 * The echo server: `node bin/echo.ts`, `bun run bin/echo.ts`, `deno run --allow-net bin/echo.ts`.
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  type AdapterChoice,
  type AutoListeningDatagramPort,
  type AutoListeningPort,
  detectRuntime,
  listenEndpoint,
  listenUDP,
  listenUDPEndpoint,
} from "../adapters/mod.ts";
import {
  EchoDatagramProtocol,
  EchoFactory,
  formatAddress,
  parseServerEndpoint,
  type ServerEndpoint,
  type UdpServerEndpoint,
} from "../src/mod.ts";
import { STOP_MESSAGE, supervise } from "../runner/supervisor.ts";
import { workerMode } from "../runner/worker_mode.ts";
import { listenTcpAndUdp, parseRate, udpSummary } from "./udp_echo.ts";

const USAGE = `Usage: echo [options]

An echo server: every byte a client sends is written back to it.

Options:
  --listen ENDPOINT where to listen, repeatable: tcp:PORT[:interface=ADDR], tcp6:PORT,
                    ssl:PORT:privateKey=KEY.pem:certKey=CERT.pem, unix:PATH[:mode=660],
                    haproxy:ENDPOINT (PROXY protocol first), udp:PORT[:interface=ADDR] (UDP echo;
                    on Deno, needs --unstable-net) (default tcp:8000)
  --port N          shorthand for --listen tcp:N, 0 for any free one (default 8000)
  --host ADDR       address for --port (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --adapter KIND    native (the runtime's own API) or node (node:net) (default native)
  --grace SECONDS   on SIGINT or SIGTERM, how long open connections may finish (default 5)
  --max-connections N     connections served at once, per worker; more are closed at once (default: no limit)
  --idle-timeout SECONDS  close a connection with no traffic for this long (default: never)
  --high-water BYTES      queued output above which a peer is no longer read (default 131072)
  --low-water BYTES       queued output at which reading resumes (default 32768)
  --udp             also serve UDP echo on the same port (on Deno, needs --unstable-net)
  --udp-rate N      UDP datagrams answered per second per source address; 0: no limit (default 1000)
                    Datagrams from source ports below 1024 are never answered (loop protection)
  --workers N|auto  processes sharing the port with SO_REUSEPORT (node:cluster on Node before 22.12),
                    auto for one per core (default 1); on Deno this needs --allow-run --allow-env
                    besides --allow-net
  --proxy-protocol  read a PROXY protocol header (v1 or v2, as HAProxy sends) first; the client's
                    address is then the one it gives, and a connection without one is closed
  -h, --help        show this help`;

/** Exit status for a usage error, as BSD's sysexits and most CLIs. */
const EXIT_USAGE = 2;

function fail(message: string, status: number): never {
  console.error(`echo: ${message}`);
  process.exit(status);
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        listen: { type: "string", multiple: true },
        adapter: { type: "string", default: "native" },
        grace: { type: "string", default: "5" },
        "max-connections": { type: "string" },
        "idle-timeout": { type: "string" },
        "high-water": { type: "string" },
        "low-water": { type: "string" },
        udp: { type: "boolean", default: false },
        "udp-rate": { type: "string", default: "1000" },
        workers: { type: "string", default: "1" },
        "proxy-protocol": { type: "boolean", default: false },
        // Internal: started by --workers; shares the port and stops when the supervisor goes.
        worker: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    const e = error as { code?: string; message: string };
    const option = /'([^' ]+)/.exec(e.message)?.[1];
    if (e.message.includes("ambiguous") && option !== undefined) {
      // parseArgs reads "--port -1" as a flag after --port; say what is wrong with the value instead.
      const value = argv[argv.indexOf(option) + 1] ?? "";
      if (option === "--port") parsePort(value);
      fail(`Invalid value '${value}' for ${option} (see --help)`, EXIT_USAGE);
    }
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") fail(`Unknown option ${option ?? ""} (see --help)`, EXIT_USAGE);
    if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      fail(`Unexpected argument ${option ?? ""} (see --help)`, EXIT_USAGE);
    }
    fail(`${e.message.split(/\.\s|\n/)[0]} (see --help)`, EXIT_USAGE);
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** `argv` without the given options and their values (`--port 0` or `--port=0`). */
function withoutOptions(argv: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (names.includes(arg)) i++;
    else if (!names.some((n) => arg.startsWith(`${n}=`))) out.push(arg);
  }
  return out;
}

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port <= 65535)) fail(`Invalid port '${text}': expected an integer from 0 to 65535`, EXIT_USAGE);
  return port;
}

function parseCount(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min)) fail(`Invalid ${flag} '${text}': expected an integer of at least ${min}`, EXIT_USAGE);
  return n;
}

function parseSeconds(text: string, flag: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(seconds)) fail(`Invalid ${flag} '${text}': expected a number of seconds`, EXIT_USAGE);
  return seconds;
}

function parseEndpoints(args: { port?: string; host?: string; listen?: string[] }): ServerEndpoint[] {
  const endpoints: ServerEndpoint[] = [];
  // --port and --host are the shorthand for tcp:, and the default when no --listen is given.
  if (args.port !== undefined || args.host !== undefined || args.listen === undefined) {
    endpoints.push({ type: "tcp", port: parsePort(args.port ?? "8000"), host: args.host ?? "127.0.0.1" });
  }
  for (const text of args.listen ?? []) {
    try {
      endpoints.push(parseServerEndpoint(text));
    } catch (error) {
      fail((error as Error).message, EXIT_USAGE);
    }
  }
  return endpoints;
}

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const grace = parseSeconds(args.grace, "--grace");
  const idle = args["idle-timeout"] === undefined ? undefined : parseSeconds(args["idle-timeout"], "--idle-timeout");
  const limits = {
    maxConnections: parseCount(args["max-connections"], "--max-connections", 1),
    idleTimeout: idle === undefined ? undefined : idle * 1000,
    highWaterMark: parseCount(args["high-water"], "--high-water", 0),
    lowWaterMark: parseCount(args["low-water"], "--low-water", 0),
  };
  if (args.adapter !== "native" && args.adapter !== "node") {
    fail(`Invalid adapter '${args.adapter}': expected native or node`, EXIT_USAGE);
  }
  const udpRate = parseRate(args["udp-rate"]);
  if (Number.isNaN(udpRate)) fail(`Invalid --udp-rate '${args["udp-rate"]}': expected an integer of at least 0`, EXIT_USAGE);
  const parsed = parseEndpoints(args);
  // udp: endpoints get UDP echo; the rest are stream endpoints for the echo factory.
  const udpEndpoints = parsed.filter((e): e is UdpServerEndpoint => e.type === "udp");
  const endpoints = parsed.filter((e): e is Exclude<ServerEndpoint, UdpServerEndpoint> => e.type !== "udp");
  const first = endpoints[0]!;
  const workers = args.workers === "auto" ? os.availableParallelism() : parseCount(args.workers, "--workers", 1)!;
  const runtime = detectRuntime();
  const mode = workerMode(runtime);
  if (workers > 1 && args.udp) fail("Cannot combine --udp with --workers: UDP is served by one process", EXIT_USAGE);
  if (workers > 1 && udpEndpoints.length > 0) fail("Cannot combine --listen udp: with --workers: UDP is served by one process", EXIT_USAGE);
  if (workers > 1 && !args.worker) {
    if (args.listen !== undefined) fail("Cannot combine --listen with --workers: workers share one --port", EXIT_USAGE);
    const port = first.type === "unix" ? 0 : first.port;
    // --listen is refused above, so the first endpoint is the tcp: one of --port and --host.
    const host = first.type === "tcp" ? first.host : "127.0.0.1";
    await supervise({ workers, port, host, grace, mode, args: withoutOptions(process.argv.slice(2), ["--port", "--workers"]) });
  }
  if (args.udp && first === undefined) fail("Cannot serve --udp without a tcp: or tcp6: endpoint whose port it shares", EXIT_USAGE);
  if (args.udp && first.type !== "tcp" && first.type !== "tcp6") {
    fail("Cannot serve --udp beside a first endpoint that is not tcp: or tcp6:", EXIT_USAGE);
  }
  const factory = new EchoFactory();
  const adapter = args.adapter as AdapterChoice;
  // A listener that stopped for good has logged why; a server that can no longer accept must not stay up.
  let lost = (): void => process.exit(1);
  const onListenerLost = () => lost();
  // A cluster worker's listen goes to the primary, which holds the one socket: reusePort is not needed there.
  const reusePort = args.worker && mode !== "cluster";
  const options = { adapter, proxyProtocol: args["proxy-protocol"], reusePort, onListenerLost, ...limits };
  // One protocol per UDP socket, as each writes to its own: so each has its own rate limit per source.
  const udp: { echo: EchoDatagramProtocol; port: AutoListeningDatagramPort }[] = [];
  const servers: AutoListeningPort[] = [];
  try {
    for (const [i, endpoint] of endpoints.entries()) {
      if (i === 0 && args.udp && endpoint.type !== "unix") {
        // UDP on the same port as the first TCP endpoint; with port 0 both must find one that is free for both.
        const echo = new EchoDatagramProtocol({ rate: udpRate });
        const both = await listenTcpAndUdp(
          (port) => listenEndpoint(factory, { ...endpoint, port }, options),
          (port) => listenUDP(echo, { host: endpoint.host, port, adapter }),
          endpoint.port,
        );
        servers.push(both.tcp);
        udp.push({ echo, port: both.udp });
      } else {
        servers.push(await listenEndpoint(factory, endpoint, options));
      }
    }
    for (const endpoint of udpEndpoints) {
      const echo = new EchoDatagramProtocol({ rate: udpRate });
      udp.push({ echo, port: await listenUDPEndpoint(echo, endpoint, { adapter }) });
    }
  } catch (error) {
    await Promise.all([...servers.map((s) => s.close({ grace: 0 })), ...udp.map((u) => u.port.close())]);
    // A value the core rejects is a usage error; failing to bind is not.
    fail((error as Error).message, error instanceof RangeError || error instanceof TypeError ? EXIT_USAGE : 1);
  }
  const server = {
    close: (options: { grace: number }) => Promise.all([...servers.map((s) => s.close(options)), ...udp.map((u) => u.port.close())]),
  };
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`echo: ${signal} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    void server.close({ grace: grace * 1000 }).then(() => {
      console.log(
        `Stopped on ${signal}: served ${plural(factory.connectionsServed, "connection")}, echoed ${plural(factory.bytesEchoed, "byte")}${udp.length === 0 ? "" : udpSummary(udp)}`,
      );
      process.exit(0);
    });
  };
  lost = () => {
    if (stopping) return;
    stopping = true;
    void server.close({ grace: 0 }).then(() => process.exit(1));
  };
  // A cluster worker shares the supervisor's process group: one Ctrl-C reaches it directly and as the supervisor's
  // message, in either order. So there the first of each way counts as one request; a second signal is a second.
  const clusterWorker = args.worker && mode === "cluster";
  const asked = new Set<"signal" | "message">();
  const request = (signal: string, way: "signal" | "message") => {
    const echo = clusterWorker && stopping && !asked.has(way);
    asked.add(way);
    if (!echo) stop(signal);
  };
  process.on("SIGINT", () => request("SIGINT", "signal"));
  process.on("SIGTERM", () => request("SIGTERM", "signal"));
  if (args.worker) {
    // A worker whose supervisor died is adopted by another process: drain and go rather than linger.
    // (Deno's process.stdin reported a spurious end here, so a pipe's end cannot say it.)
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid !== parent && !stopping) stop("supervisor exit");
    }, 1000);
    watch.unref?.();
    // A cluster worker is stopped by a message from the supervisor (see supervisor.ts STOP_MESSAGE).
    if (clusterWorker) {
      process.on("message", (message: unknown) => {
        const signal = (message as Record<string, unknown> | null)?.[STOP_MESSAGE];
        if (typeof signal === "string") request(signal, "message");
      });
    }
  }
  // Announce only once the handlers are in: whoever waits for this line may signal at once.
  // Plain TCP over IPv4 first: scripts read the first "listening on 127.0.0.1:PORT".
  const where = servers.map((s, i) => (endpoints[i]!.type === "ssl" ? "ssl:" : "") + formatAddress(s.address));
  const rank = (i: number) => ["tcp", "tcp6", "ssl", "unix"].indexOf(endpoints[i]!.type);
  const order = [...where.keys()].sort((a, b) => rank(a) - rank(b));
  const udpWhere = udp.map((u) => `UDP ${formatAddress(u.port.address)}`).join(", ");
  const listening = [order.map((i) => where[i]).join(", "), udpWhere].filter((part) => part !== "").join(" and ");
  const adapters = [
    ...(servers.length === 0 ? [] : [`adapter ${servers[0]!.adapter}`]),
    ...(udp.length === 0 ? [] : [`UDP adapter ${udp[0]!.port.adapter}`]),
  ];
  console.log(`Echo server listening on ${listening} (${runtime.name} ${runtime.version}, ${adapters.join(", ")})`);
}

await main();
