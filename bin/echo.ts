/**
 * The echo server: `node bin/echo.ts`, `bun run bin/echo.ts`, `deno run --allow-net bin/echo.ts`.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { type AdapterChoice, type AutoListeningPort, detectRuntime, listenEndpoint } from "../adapters/mod.ts";
import { EchoFactory, formatAddress, parseServerEndpoint, type ServerEndpoint } from "../src/mod.ts";

const USAGE = `Usage: echo [options]

An echo server: every byte a client sends is written back to it.

Options:
  --listen ENDPOINT where to listen, repeatable: tcp:PORT[:interface=ADDR], tcp6:PORT,
                    unix:PATH[:mode=660] (default tcp:8000)
  --port N          shorthand for --listen tcp:N, 0 for any free one (default 8000)
  --host ADDR       address for --port (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --adapter KIND    native (the runtime's own API) or node (node:net) (default native)
  --grace SECONDS   on SIGINT or SIGTERM, how long open connections may finish (default 5)
  --max-connections N     connections served at once; more are closed at once (default: no limit)
  --idle-timeout SECONDS  close a connection with no traffic for this long (default: never)
  --high-water BYTES      queued output above which a peer is no longer read (default 131072)
  --low-water BYTES       queued output at which reading resumes (default 32768)
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
  const endpoints = parseEndpoints(args);
  const factory = new EchoFactory();
  const servers: AutoListeningPort[] = [];
  try {
    for (const endpoint of endpoints) {
      servers.push(await listenEndpoint(factory, endpoint, { adapter: args.adapter as AdapterChoice, ...limits }));
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.close({ grace: 0 })));
    // A value the core rejects is a usage error; failing to bind is not.
    fail((error as Error).message, error instanceof RangeError || error instanceof TypeError ? EXIT_USAGE : 1);
  }
  const server = {
    close: (options: { grace: number }) => Promise.all(servers.map((s) => s.close(options))),
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
        `Stopped on ${signal}: served ${plural(factory.connectionsServed, "connection")}, echoed ${plural(factory.bytesEchoed, "byte")}`,
      );
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // Announce only once the handlers are in: whoever waits for this line may signal at once.
  const runtime = detectRuntime();
  // Plain TCP over IPv4 first: scripts read the first "listening on 127.0.0.1:PORT".
  const where = servers.map((s, i) => (endpoints[i]!.type === "ssl" ? "ssl:" : "") + formatAddress(s.address));
  const rank = (i: number) => ["tcp", "tcp6", "ssl", "unix"].indexOf(endpoints[i]!.type);
  const order = [...where.keys()].sort((a, b) => rank(a) - rank(b));
  console.log(
    `Echo server listening on ${order.map((i) => where[i]).join(", ")} (${runtime.name} ${runtime.version}, adapter ${servers[0]!.adapter})`,
  );
}

await main();
