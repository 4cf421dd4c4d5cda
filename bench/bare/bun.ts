/**
 * Reference echo server on Bun.listen without twine. Bun's write takes what the
 * kernel takes and keeps nothing, so the rest is queued here, flushed on drain,
 * and reading pauses while more than HIGH bytes wait.
 */
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" }, host: { type: "string", default: "127.0.0.1" } } });
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

const listener = Bun.listen<State>({
  hostname: values.host!,
  port: Number(values.port),
  exclusive: true,
  allowHalfOpen: true,
  socket: {
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
  },
});
console.log(`bare bun listening on ${values.host}:${listener.port}`);
process.on("SIGTERM", () => process.exit(0));
