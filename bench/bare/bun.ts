/**
 * Reference echo server on Bun.listen without twine. Bun's write takes what the
 * kernel takes and keeps nothing, so the rest is queued here, flushed on drain,
 * and reading pauses while more than HIGH bytes wait. The same handlers serve TLS
 * (`--tls-cert FILE --tls-key FILE`, Bun.listen's `tls`) and a Unix socket (`--unix PATH`).
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    unix: { type: "string" },
  },
});
const HIGH = 128 * 1024;

interface State {
  queue: Uint8Array[] | null;
  queued: number;
  ended: boolean;
}

function flush(sock: Bun.Socket<State>): void {
  const st = sock.data;
  const queue = st.queue!;
  let chunk = queue.length === 1 ? queue[0]! : Buffer.concat(queue);
  const n = sock.write(chunk);
  if (n < chunk.length) {
    st.queue = [chunk.subarray(Math.max(n, 0))];
    st.queued = chunk.length - Math.max(n, 0);
    return;
  }
  st.queue = null;
  st.queued = 0;
  if (st.ended) sock.end();
  else sock.resume();
}

const handlers: Bun.SocketHandler<State> = {
  binaryType: "uint8array",
  open(sock) {
    sock.setNoDelay(true);
    sock.data = { queue: null, queued: 0, ended: false };
  },
  data(sock, data) {
    const st = sock.data;
    if (st.queue === null) {
      const n = sock.write(data);
      if (n >= data.length) return;
      st.queue = [data.subarray(Math.max(n, 0))];
      st.queued = data.length - Math.max(n, 0);
    } else {
      st.queue.push(data);
      st.queued += data.length;
    }
    if (st.queued > HIGH) sock.pause();
  },
  drain(sock) {
    if (sock.data.queue !== null) flush(sock);
  },
  end(sock) {
    if (sock.data.queue === null) sock.end();
    else sock.data.ended = true;
  },
  error() {},
};

let at: string;
if (values.unix !== undefined) {
  Bun.listen<State>({ unix: values.unix, allowHalfOpen: true, socket: handlers });
  at = `unix:${values.unix}`;
} else {
  const secure = values["tls-cert"] !== undefined;
  const tls = secure ? { tls: { cert: readFileSync(values["tls-cert"]!, "utf8"), key: readFileSync(values["tls-key"]!, "utf8") } } : {};
  const listener = Bun.listen<State>({ hostname: values.host!, port: Number(values.port), exclusive: true, allowHalfOpen: true, ...tls, socket: handlers });
  at = `${secure ? "ssl:" : ""}${values.host}:${listener.port}`;
}
console.log(`bare bun listening on ${at}`);
process.on("SIGTERM", () => process.exit(0));
