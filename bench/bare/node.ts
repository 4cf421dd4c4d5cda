/**
 * Reference echo server on node:net without twine: what an expert would write
 * for speed while staying correct. Nagle off, half-close honoured, and the
 * socket paused while its write buffer is over the high-water mark.
 */
import net from "node:net";
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" }, host: { type: "string", default: "127.0.0.1" } } });

const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
  sock.on("data", (chunk) => {
    if (!sock.write(chunk)) sock.pause();
  });
  sock.on("drain", () => sock.resume());
  sock.on("end", () => sock.end());
  sock.on("error", () => sock.destroy());
});
server.listen({ port: Number(values.port), host: values.host, exclusive: true }, () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(`bare node:net listening on ${values.host}:${port}`);
});
process.on("SIGTERM", () => process.exit(0));
