/**
 * The serving commands, `twine-serve MODULE` and `twine-echo` (`twine-serve echo` under its own
 * name): their flags, their help, and their lines; the runner does the rest.
 *
 * @module
 */
import process from "node:process";
import { type LoadedService, loadService, LoadServiceError } from "../runner/load_service.ts";
import { serveEvent } from "../runner/log.ts";
import { formatJsonLogLine, type LogFormat } from "../runner/log_format.ts";
import { consoleLog, type LogLevel } from "../runner/report.ts";
import type { Servable, ServeOptions } from "../runner/serve_options.ts";
import { serve } from "../runner/serve.ts";
import { type MakerOption, type OptionValues, type ServiceMaker, UsageError } from "../runner/service_maker.ts";
import { parseServerEndpoint, type ServerEndpoint } from "../src/endpoints/endpoints.ts";
import { type CommandLine, EXIT_USAGE, fail, parseCommandLine, printVersion } from "./cli.ts";

/** The flags every serving command takes, whatever it serves. */
const TWINE_OPTIONS = {
  listen: { type: "string", multiple: true },
  port: { type: "string" },
  host: { type: "string" },
  adapter: { type: "string", default: "native" },
  grace: { type: "string", default: "5" },
  "max-connections": { type: "string" },
  "idle-timeout": { type: "string" },
  "high-water": { type: "string" },
  "low-water": { type: "string" },
  workers: { type: "string" },
  "proxy-protocol": { type: "boolean", default: false },
  metrics: { type: "string" },
  "log-format": { type: "string", default: "human" },
  traceback: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  version: { type: "boolean", default: false },
} as const;

/** Names a service's own options may not take. */
const RESERVED = [...Object.keys(TWINE_OPTIONS), "h"];

const TWINE_HELP = `  --listen ENDPOINT       where to listen, repeatable: tcp:PORT[:interface=ADDR], tcp6:PORT,
                          ssl:PORT:privateKey=KEY.pem:certKey=CERT.pem, unix:PATH[:mode=660],
                          haproxy:ENDPOINT (PROXY protocol first), udp:PORT[:interface=ADDR] (for a
                          service that answers datagrams, as echo; on Deno, needs --unstable-net)
                          (default tcp:8000)
  --port N                shorthand for --listen tcp:N, 0 for any free one (default 8000)
  --host ADDR             address for --port (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --adapter KIND          native (the runtime's own API) or node (node:net) (default native)
  --grace SECONDS         on SIGINT or SIGTERM, how long open connections may finish (default 5)
  --max-connections N     connections served at once, per worker; more are closed at once (default: no limit)
  --idle-timeout SECONDS  close a connection with no traffic for this long (default: never)
  --high-water BYTES      queued output above which a peer is no longer read (default 131072)
  --low-water BYTES       queued output at which reading resumes (default 32768)
  --workers N|auto        processes sharing the port with SO_REUSEPORT (node:cluster on Node before 22.12),
                          auto for one per core (default: one process, no supervisor); with a supervisor,
                          SIGHUP starts new workers and drains the old; on Deno this needs --allow-run
                          --allow-env besides --allow-net; a unix: endpoint is served by worker 1 alone
  --proxy-protocol        read a PROXY protocol header (v1 or v2, as HAProxy sends) first; the client's
                          address is then the one it gives, and a connection without one is closed
  --metrics ENDPOINT      serve GET /metrics (Prometheus text format, summed over workers) and GET /healthz
                          (200 while accepting, 503 while draining) on ENDPOINT, e.g. tcp:9464 (default: off)
  --log-format FORMAT     human (the lines as they read) or json (one JSON object per line) (default human)`;

const COMMON_HELP = `  --traceback             with an error in MODULE, print its stack too
  -h, --help              show this help
  --version               print the version`;

const EXIT_HELP = `Exit status: 0 once drained after SIGINT or SIGTERM; 1 if it cannot listen or cannot go on;
2 for a mistake on the command line or in MODULE's exports.`;

const SERVE_INTRO = `Usage: twine-serve MODULE [options]

Serves MODULE: a .ts or .js file whose default export is a Factory, or a service maker
({ description, options, makeFactory(options) }); or a built-in service: echo, discard,
chargen, daytime. MODULE's own options (see twine-serve MODULE --help) follow it.`;

/** How one of a maker's options shows in --help. */
function optionHelp(name: string, option: MakerOption): string {
  const flag = `${option.short === undefined ? "" : `-${option.short}, `}--${name}${option.type === "string" ? ` ${option.valueName ?? "VALUE"}` : ""}`;
  const [first = "", ...more] = option.description.split("\n");
  const fallback = typeof option.default === "string" && option.default !== "" && !first.includes("(default") ? ` (default ${option.default})` : "";
  const pad = " ".repeat(26);
  const head = flag.length <= 22 ? `  ${flag.padEnd(24)}${first}${fallback}` : `  ${flag}\n${pad}${first}${fallback}`;
  return [head, ...more.map((line) => `${pad}${line}`)].join("\n");
}

function makerHelp(maker: ServiceMaker): string {
  return Object.entries(maker.options ?? {}).map(([name, option]) => optionHelp(name, option)).join("\n");
}

function usage(command: string, loaded: LoadedService | undefined, fixed: boolean): string {
  if (fixed && loaded !== undefined) {
    const own = makerHelp(loaded.maker);
    return `Usage: ${command} [options]\n\n${loaded.maker.description}\n\nOptions:\n${TWINE_HELP}\n${own === "" ? "" : `${own}\n`}${COMMON_HELP}\n\n${EXIT_HELP}`;
  }
  const base = `${SERVE_INTRO}\n\nOptions:\n${TWINE_HELP}\n${COMMON_HELP}\n\n${EXIT_HELP}`;
  if (loaded === undefined) return base;
  const own = makerHelp(loaded.maker);
  const description = loaded.maker.description || "Serves the Factory it exports on every endpoint.";
  return `${base}\n\n${loaded.name}: ${description}${own === "" ? "" : `\n\nOptions of ${loaded.name}:\n${own}`}`;
}

/** Where MODULE is among the arguments: the first that is neither a flag nor the value of one of twine's. */
function findModule(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return i + 1 < argv.length ? i + 1 : -1;
    if (!arg.startsWith("-") || arg === "-") return i;
    const name = arg.replace(/^--?/, "");
    const option = (TWINE_OPTIONS as Record<string, { type: string }>)[name];
    if (option?.type === "string") i++;
  }
  return -1;
}

function parsePort(command: string, text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port <= 65535)) fail(command, `Invalid port '${text}': expected an integer from 0 to 65535`, EXIT_USAGE);
  return port;
}

function parseCount(command: string, text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min)) fail(command, `Invalid ${flag} '${text}': expected an integer of at least ${min}`, EXIT_USAGE);
  return n;
}

function parseSeconds(command: string, text: string, flag: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(seconds)) fail(command, `Invalid ${flag} '${text}': expected a number of seconds`, EXIT_USAGE);
  return seconds;
}

/** twine's flags as `serve()` options, each checked with a one-line error. */
function serveOptions(command: string, values: CommandLine["values"]): ServeOptions {
  const text = (name: string) => values[name] as string | undefined;
  const grace = parseSeconds(command, text("grace")!, "--grace");
  const idle = text("idle-timeout") === undefined ? undefined : parseSeconds(command, text("idle-timeout")!, "--idle-timeout");
  const adapter = text("adapter")!;
  if (adapter !== "native" && adapter !== "node") fail(command, `Invalid adapter '${adapter}': expected native or node`, EXIT_USAGE);
  const workers = text("workers");
  if (workers !== undefined && workers !== "auto" && !(/^\d+$/.test(workers) && Number(workers) >= 1)) {
    fail(command, `Invalid --workers '${workers}': expected an integer of at least 1, or auto`, EXIT_USAGE);
  }
  const logFormat = text("log-format")!;
  if (logFormat !== "human" && logFormat !== "json") fail(command, `Invalid --log-format '${logFormat}': expected human or json`, EXIT_USAGE);
  let metrics: ServerEndpoint | undefined;
  if (text("metrics") !== undefined) {
    try {
      metrics = parseServerEndpoint(text("metrics")!);
    } catch (error) {
      fail(command, (error as Error).message, EXIT_USAGE);
    }
    if (metrics.type === "udp") fail(command, `Invalid --metrics '${text("metrics")}': HTTP needs a stream endpoint such as tcp:9464, not udp:`, EXIT_USAGE);
  }
  const listen: ServerEndpoint[] = [];
  const listenFlags = values.listen as string[] | undefined;
  // --port and --host are the shorthand for tcp:, and the default when no --listen is given.
  if (text("port") !== undefined || text("host") !== undefined || listenFlags === undefined) {
    listen.push({ type: "tcp", port: parsePort(command, text("port") ?? "8000"), host: text("host") ?? "127.0.0.1" });
  }
  for (const endpoint of listenFlags ?? []) {
    try {
      listen.push(parseServerEndpoint(endpoint));
    } catch (error) {
      fail(command, (error as Error).message, EXIT_USAGE);
    }
  }
  return {
    listen,
    adapter,
    grace,
    workers: workers === undefined || workers === "auto" ? workers : Number(workers),
    maxConnections: parseCount(command, text("max-connections"), "--max-connections", 1),
    idleTimeout: idle === undefined ? undefined : idle * 1000,
    highWaterMark: parseCount(command, text("high-water"), "--high-water", 0),
    lowWaterMark: parseCount(command, text("low-water"), "--low-water", 0),
    proxyProtocol: values["proxy-protocol"] === true,
    metrics,
    logFormat: logFormat as LogFormat,
  };
}

/** A maker's function failed: `UsageError` is the command line's fault, anything else the module's. */
class MakerFailure extends Error {
  readonly status: number;
  constructor(message: string, status: number, cause: unknown) {
    super(message, { cause });
    this.status = status;
  }
}

async function callMaker<T>(loaded: LoadedService, what: string, make: () => T | Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    if (error instanceof UsageError) throw new MakerFailure(error.message, EXIT_USAGE, error);
    const e = error as { name?: string; message?: string } | null;
    const how = e instanceof Error ? `${e.name}: ${String(e.message).split("\n")[0]}` : String(error);
    throw new MakerFailure(`Cannot serve ${loaded.name}: ${what} threw ${how}`, 1, error);
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object") return `an object (${(value as object).constructor?.name ?? "no prototype"})`;
  return `a ${typeof value}`;
}

function report(command: string, error: unknown, traceback: boolean, format: LogFormat = "human"): never {
  const e = error as Error;
  const status = error instanceof LoadServiceError || error instanceof MakerFailure
    ? error.status
    : error instanceof RangeError || error instanceof TypeError
    ? EXIT_USAGE
    : 1;
  if (traceback) console.error(String((e.cause as Error | undefined)?.stack ?? e.stack ?? e));
  const message = String(e?.message ?? error).split("\n")[0]!;
  if (format === "json") {
    // A server logging JSON says why it could not start in JSON too: the one line a log collector gets.
    console.error(formatJsonLogLine(message, serveEvent("serve_failed", "error", { command, status })));
    process.exit(status);
  }
  fail(command, message, status);
}

/**
 * Runs a serving command: reads twine's flags and the service's own, loads the service, serves
 * it until a signal, and exits with the summary's status.
 *
 * @param command The command's name for its usage line and errors: `twine-serve`, `twine-echo`.
 * @param argv Its arguments.
 * @param fixed The service it always serves (`echo` for `twine-echo`); without it the first argument names it.
 * @returns Never: the process exits.
 */
export async function runServeCommand(command: string, argv: string[], fixed?: string): Promise<never> {
  let format: LogFormat = "human";
  // A JSON line is whole as it is; a human error line is prefixed with the command's name.
  const log = (line: string, level: LogLevel) => consoleLog(level === "error" && format === "human" ? `${command}: ${line}` : line, level);
  let spec = fixed;
  let rest = argv;
  if (spec === undefined) {
    const at = findModule(argv);
    if (at >= 0) {
      spec = argv[at]!;
      rest = [...argv.slice(0, at).filter((a, i) => !(a === "--" && i === at - 1)), ...argv.slice(at + 1)];
    }
  }
  if (spec === undefined) {
    const { values } = parseCommandLine(command, rest, TWINE_OPTIONS, (option, value) => option === "--port" && parsePort(command, value));
    if (values.help) console.log(usage(command, undefined, false));
    else if (values.version) printVersion(command);
    else fail(command, "Missing MODULE: a module's path or a built-in service's name (see --help)", EXIT_USAGE);
    process.exit(0);
  }
  const traceback = rest.includes("--traceback");
  let loaded: LoadedService;
  try {
    loaded = await loadService(spec, { reserved: RESERVED });
  } catch (error) {
    report(command, error, traceback);
  }
  const own = Object.fromEntries(
    Object.entries(loaded.maker.options ?? {}).map(([name, o]) => [
      name,
      { type: o.type, ...(o.short === undefined ? {} : { short: o.short }), ...(o.multiple ? { multiple: true } : {}), ...(o.default === undefined ? {} : { default: o.default }) },
    ]),
  );
  const { values } = parseCommandLine(command, rest, { ...TWINE_OPTIONS, ...own } as NonNullable<Parameters<typeof parseCommandLine>[2]>, (option, value) => {
    if (option === "--port") parsePort(command, value);
  });
  if (values.help) {
    console.log(usage(command, loaded, fixed !== undefined));
    process.exit(0);
  }
  if (values.version) {
    printVersion(command);
    process.exit(0);
  }
  const options: ServeOptions = {
    ...serveOptions(command, values),
    name: loaded.maker.name ?? loaded.name,
    log,
    reads: loaded.path === undefined ? [] : [loaded.path],
  };
  format = options.logFormat ?? "human";
  const moduleValues: OptionValues = Object.fromEntries(Object.keys(own).map((name) => [name, values[name]]));
  const maker = loaded.maker;
  let app;
  try {
    let target: Servable;
    if (typeof maker.makeService === "function") {
      target = (context) => callMaker(loaded, "makeService", () => maker.makeService!(moduleValues, context));
    } else {
      const factory: unknown = await callMaker(loaded, "makeFactory", () => maker.makeFactory!(moduleValues));
      if (typeof (factory as { buildProtocol?: unknown } | null)?.buildProtocol !== "function") {
        throw new MakerFailure(`Cannot serve ${loaded.name}: makeFactory returned ${describe(factory)}, not a Factory`, EXIT_USAGE, undefined);
      }
      target = factory as Servable;
    }
    app = await serve(target, options);
  } catch (error) {
    report(command, error, traceback, format);
  }
  const summary = await app.stopped;
  process.exit(summary.code);
}
