/**
 * The echo client's command, `twine-echo-client` (bin/echo-client.ts runs it): connects to an
 * echo server, sends a message (or stdin), prints what comes back, and sets exit status 0 only
 * if every byte came back identical, as Twisted's echoclient.
 *
 * @module
 */
import process from "node:process";
import { connectProtocol } from "../adapters/listen.ts";
import type { AdapterChoice } from "../adapters/runtime.ts";
import { ConnectError } from "../src/endpoints/connect_error.ts";
import type { Connection } from "../src/transport/connection.ts";
import type { Reason } from "../src/transport/errors.ts";
import { Protocol } from "../src/transport/protocol.ts";
import { EXIT_USAGE, fail as failAs, parseCommandLine, printVersion } from "./cli.ts";

const COMMAND = "twine-echo-client";

const USAGE = `Usage: twine-echo-client --connect ENDPOINT [--message TEXT]

Sends TEXT (or all of stdin), half-closes, prints what the server sends back, and
exits 0 only if it is identical to what was sent (1 otherwise, saying where it differs).

Options:
  --connect ENDPOINT  where to connect: tcp:host=H:port=P[:timeout=S], unix:path=P,
                      tls:host=H:port=P[:trustRoots=CA.pem|DIR][:servername=N][:alpn=h2;http/1.1]
                      [:certificate=CERT.pem:privateKey=KEY.pem] (a client certificate)
  --message TEXT      what to send (default: read stdin to its end)
  --adapter KIND      native (the runtime's own API) or node (node:net) (default native)
  --show-tls          print the agreed ALPN protocol and the server's certificate to stderr
  -h, --help          show this help
  --version           print the version`;

function fail(message: string, status: number): never {
  failAs(COMMAND, message, status);
}

/** Sends its message, half-closes, and keeps what comes back. */
class EchoClient extends Protocol {
  readonly received: Uint8Array[] = [];
  readonly #message: Uint8Array;
  readonly done: Promise<Reason>;
  #finish!: (reason: Reason) => void;

  constructor(message: Uint8Array) {
    super();
    this.#message = message;
    this.done = new Promise((resolve) => (this.#finish = resolve));
  }

  override connectionMade(): void {
    this.transport.write(this.#message);
    this.transport.loseWriteConnection();
  }

  override dataReceived(data: Uint8Array): void {
    this.received.push(data);
  }

  override connectionLost(reason: Reason): void {
    this.#finish(reason);
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
  return concat(chunks);
}

/**
 * Runs `twine-echo-client`: sends, half-closes, compares. A usage error or a failed connection
 * exits with its one line; a reply that differs sets `process.exitCode` to 1.
 *
 * @param argv Its arguments.
 * @returns Once the reply is written to stdout.
 */
export async function runEchoClient(argv: string[]): Promise<void> {
  const { values: parsed } = parseCommandLine(COMMAND, argv, {
    connect: { type: "string" },
    message: { type: "string" },
    adapter: { type: "string", default: "native" },
    "show-tls": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
    version: { type: "boolean", default: false },
  });
  const values = parsed as { connect?: string; message?: string; adapter: string; "show-tls": boolean; help: boolean; version: boolean };
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.version) {
    printVersion(COMMAND);
    return;
  }
  if (values.connect === undefined) fail("Missing --connect ENDPOINT (see --help)", EXIT_USAGE);
  if (values.adapter !== "native" && values.adapter !== "node") {
    fail(`Invalid adapter '${values.adapter}': expected native or node`, EXIT_USAGE);
  }
  const message = values.message !== undefined ? new TextEncoder().encode(values.message) : await readStdin();
  const client = new EchoClient(message);
  try {
    // The whole message is queued at once, so its queue never drains below a finite high-water
    // mark while the echo is unread; pausing reads there would stop both ends (the server stops
    // reading too), so this client always reads.
    await connectProtocol(client, values.connect, { adapter: values.adapter as AdapterChoice, highWaterMark: Infinity });
  } catch (error) {
    fail((error as Error).message, error instanceof ConnectError ? 1 : EXIT_USAGE);
  }
  if (values["show-tls"]) {
    const info = (client.transport as Connection).getTlsInfo();
    const peer = info?.peerCertificate;
    console.error(
      info === undefined
        ? "TLS: none"
        : `TLS: alpn=${info.alpnProtocol ?? "none"} peer=${peer === undefined ? "not exposed" : `${peer.subject} issuer=${peer.issuer}`}`,
    );
  }
  const reason = await client.done;
  const reply = concat(client.received);
  await new Promise<void>((resolve) => process.stdout.write(reply, () => resolve()));
  const at = firstDifference(message, reply);
  if (at >= 0) {
    const how = reason.name === "ConnectionDone" ? "" : ` (${reason.message})`;
    console.error(
      `${COMMAND}: Reply differs from what was sent at byte ${at}: sent ${message.length} bytes, received ${reply.length}${how}`,
    );
    process.exitCode = 1;
  }
}
