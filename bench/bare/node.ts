/**
 * Reference echo server on node:net without twine: what an expert would write
 * for speed while staying correct. Nagle off, half-close honoured, and the
 * socket paused while its write buffer is over the high-water mark. The same handler
 * serves TLS (`--tls-cert FILE --tls-key FILE`, on node:tls) and a Unix socket (`--unix PATH`).
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import tls from "node:tls";
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

function echo(sock: net.Socket): void {
  sock.on("data", (chunk) => {
    if (!sock.write(chunk)) sock.pause();
  });
  sock.on("drain", () => sock.resume());
  sock.on("end", () => sock.end());
  sock.on("error", () => sock.destroy());
}

const secure = values["tls-cert"] !== undefined;
const server = secure
  ? tls.createServer({ allowHalfOpen: true, noDelay: true, cert: readFileSync(values["tls-cert"]!), key: readFileSync(values["tls-key"]!) }, echo)
  : net.createServer({ allowHalfOpen: true, noDelay: true }, echo);
const where = values.unix !== undefined ? { path: values.unix } : { port: Number(values.port), host: values.host, exclusive: true };
server.listen(where, () => {
  const address = server.address();
  const at = typeof address === "string" ? `unix:${address}` : `${secure ? "ssl:" : ""}${values.host}:${address!.port}`;
  console.log(`bare ${secure ? "node:tls" : "node:net"} listening on ${at}`);
});
process.on("SIGTERM", () => process.exit(0));
