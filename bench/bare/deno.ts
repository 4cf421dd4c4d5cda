/**
 * Reference echo server on Deno.listen without twine: per connection, read into
 * one buffer and write it all back before reading again. Awaiting the write is
 * the backpressure; EOF after the last write is the half-close.
 */
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" }, host: { type: "string", default: "127.0.0.1" } } });

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buf = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // A reset peer: nothing to answer.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

const listener = Deno.listen({ hostname: values.host!, port: Number(values.port) });
console.log(`bare deno listening on ${values.host}:${(listener.addr as Deno.NetAddr).port}`);
process.on("SIGTERM", () => process.exit(0));
for await (const conn of listener) void serve(conn);
