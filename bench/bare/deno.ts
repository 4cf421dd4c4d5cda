/**
 * Reference echo server on Deno.listen without twine: per connection, read into
 * one buffer and write it all back before reading again. Awaiting the write is
 * the backpressure; EOF after the last write is the half-close. The same loop serves
 * TLS (`--tls-cert FILE --tls-key FILE`, on Deno.listenTls) and a Unix socket (`--unix PATH`);
 * both need `--allow-read` (and Unix `--allow-write`) besides `--allow-net`.
 */
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

async function serve(conn: Deno.Conn): Promise<void> {
  if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
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

function listen(): { listener: Deno.Listener; at: string } {
  if (values.unix !== undefined) {
    return { listener: Deno.listen({ transport: "unix", path: values.unix }), at: `unix:${values.unix}` };
  }
  if (values["tls-cert"] !== undefined) {
    const cert = Deno.readTextFileSync(values["tls-cert"]);
    const key = Deno.readTextFileSync(values["tls-key"]!);
    const listener = Deno.listenTls({ hostname: values.host!, port: Number(values.port), cert, key });
    return { listener, at: `ssl:${values.host}:${listener.addr.port}` };
  }
  const listener = Deno.listen({ hostname: values.host!, port: Number(values.port) });
  return { listener, at: `${values.host}:${listener.addr.port}` };
}

const { listener, at } = listen();
console.log(`bare deno listening on ${at}`);
process.on("SIGTERM", () => process.exit(0));
for await (const conn of listener) void serve(conn);
