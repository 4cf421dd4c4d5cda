/**
 * What twine's own JavaScript costs per chunk on the `node:net` adapter, without the kernel or
 * Node's streams: 64-byte chunks go through `wire`, `Connection`, `EchoProtocol` and
 * `NodeSocket.write` of each source tree given, to a fake socket whose `write` takes
 * everything, and through bare Node's echo listener (bench/bare/node.ts) to the same fake.
 * The trees run in one process, in turns, so that they share its noise.
 *
 * `node bench/node_data_path.ts [TREE...]` (default: this tree) prints the median and the
 * least nanoseconds per chunk of each; another worktree (`git worktree add /tmp/base COMMIT`)
 * is how a change is compared with its base.
 */
import { EventEmitter } from "node:events";
import path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The fake's `write` takes everything at once, as the kernel does for a small echo on loopback. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  writableLength = 0;
  written = 0;
  write(chunk: Uint8Array): boolean {
    this.written += chunk.length;
    return true;
  }
  pause(): void {}
  resume(): void {}
}

interface Contender {
  name: string;
  sockets: FakeSocket[];
  ns: number[];
}

const CONNECTIONS = 64;
const ROUNDS = 10_000;
const REPEATS = 31;
// The first turns run while V8 still compiles; they are left out.
const WARM_UP = 6;

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const trees = process.argv.slice(2).length > 0 ? process.argv.slice(2).map((t) => path.resolve(t)) : [here];

async function twine(tree: string): Promise<Contender> {
  const from = (file: string) => import(pathToFileURL(path.join(tree, file)).href);
  const { NodeSocket, wire } = await from("adapters/node/socket.ts");
  const { Connection } = await from("src/transport/connection.ts");
  const { EchoFactory } = await from("src/wire/echo.ts");
  const factory = new EchoFactory();
  // As a listening port with metrics on: one object all its connections count into.
  const traffic = { bytesRead: 0, bytesWritten: 0 };
  const sockets: FakeSocket[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const sock = new FakeSocket();
    const socket = new NodeSocket(sock);
    const peer = { host: "127.0.0.1", port: 40000 + i };
    const connection = new Connection(socket, peer, { host: "127.0.0.1", port: 7 }, {});
    connection.traffic = traffic;
    wire(sock, socket, connection);
    connection.connect(factory.buildProtocol(peer));
    sockets.push(sock);
  }
  const relative = path.relative(process.cwd(), tree);
  return { name: relative === "" ? "." : relative.startsWith("..") ? tree : relative, sockets, ns: [] };
}

function bare(): Contender {
  const sockets: FakeSocket[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const sock = new FakeSocket();
    sock.on("data", (chunk: Uint8Array) => {
      if (!sock.write(chunk)) sock.pause();
    });
    sockets.push(sock);
  }
  return { name: "bare node listener", sockets, ns: [] };
}

const contenders = [...(await Promise.all(trees.map(twine))), bare()];
const chunks = Array.from({ length: 256 }, () => new Uint8Array(64).fill(1));
for (let repeat = 0; repeat < REPEATS; repeat++) {
  for (const c of contenders) {
    let k = 0;
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < ROUNDS; r++) for (const sock of c.sockets) sock.emit("data", chunks[k++ & 255]);
    c.ns.push(Number(process.hrtime.bigint() - t0) / (ROUNDS * CONNECTIONS));
  }
}
for (const c of contenders) {
  const ns = c.ns.slice(WARM_UP).sort((a, b) => a - b);
  console.log(`${c.name}: ${ns[ns.length >> 1]!.toFixed(1)} ns per chunk (median of ${ns.length}), least ${ns[0]!.toFixed(1)}`);
}
