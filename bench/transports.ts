/**
 * A small transport benchmark, apart from the main one: stream throughput of the echo
 * server over TCP, TLS and a Unix socket on every runtime x adapter pair, measured with
 * one `node:net`/`node:tls` client (the C load generator has no TLS or Unix mode yet).
 * The byte count is checked exactly, and one byte in 4099 against the pattern (checking
 * every byte in JavaScript would slow the client more than the servers).
 * `node bench/transports.ts [--mib 32] [--reps 3]`.
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import tls from "node:tls";
import { parseArgs } from "node:util";
import { PAIRS, withFileAccess } from "../tools/runtimes.ts";
import { startServer } from "../tools/server_process.ts";
import { makeTestCertificates } from "../tools/test_certs.ts";

const { values } = parseArgs({ options: { mib: { type: "string", default: "32" }, reps: { type: "string", default: "3" } } });
const total = Number(values.mib) * 1024 * 1024;
const reps = Number(values.reps);
const certs = makeTestCertificates();
const ca = readFileSync(certs.ca, "utf8");
const dir = mkdtempSync(`${tmpdir()}/twt-`);
const chunk = new Uint8Array(64 * 1024).map((_, i) => (i * 31) % 251);

type Open = () => net.Socket;

/** Streams `total` bytes through one connection while reading the echo; resolves with MB/s. */
function stream(open: Open): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = open();
    let sent = 0;
    let got = 0;
    let t0 = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!sock.write(chunk)) return void sock.once("drain", pump);
      }
      sock.end();
    };
    sock.once(sock instanceof tls.TLSSocket ? "secureConnect" : "connect", () => {
      t0 = performance.now();
      pump();
    });
    sock.on("data", (d: Buffer) => {
      for (let i = 0; i < d.length; i += 4099) {
        if (d[i] !== chunk[(got + i) % chunk.length]) return reject(new Error(`mismatch at byte ${got + i}`));
      }
      got += d.length;
    });
    sock.on("end", () => {
      if (got !== total) return reject(new Error(`got ${got} of ${total} bytes`));
      resolve(total / 1e6 / ((performance.now() - t0) / 1000));
      sock.destroy();
    });
    sock.on("error", reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`| pair | TCP MB/s | TLS MB/s | Unix MB/s | TLS / TCP | Unix / TCP |`);
console.log(`| --- | --- | --- | --- | --- | --- |`);
for (const pair of PAIRS.map(withFileAccess)) {
  const path = `${dir}/${pair.name.replace(/\W/g, "")}.sock`;
  const server = await startServer(pair, "bin/echo.ts", [
    "--listen", `ssl:0:privateKey=${certs.key}:certKey=${certs.cert}`, "--listen", `unix:${path}`, "--grace", "1",
  ]);
  const tlsPort = Number(/ssl:127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
  const opens: Record<string, Open> = {
    tcp: () => net.connect({ host: "127.0.0.1", port: server.port, allowHalfOpen: true }),
    tls: () => tls.connect({ host: "127.0.0.1", port: tlsPort, ca, allowHalfOpen: true } as tls.ConnectionOptions),
    unix: () => net.connect({ path, allowHalfOpen: true }),
  };
  const runs: Record<string, number[]> = { tcp: [], tls: [], unix: [] };
  // Interleaved, so drift on a shared machine hits every transport alike.
  for (let r = 0; r < reps; r++) for (const t of ["tcp", "tls", "unix"]) runs[t]!.push(await stream(opens[t]!));
  await server.stop();
  const m = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
  const cell = (k: string) => `${m[k]!.toFixed(0)} (${Math.min(...runs[k]!).toFixed(0)}–${Math.max(...runs[k]!).toFixed(0)})`;
  console.log(`| ${pair.name} | ${cell("tcp")} | ${cell("tls")} | ${cell("unix")} | ${(m.tls! / m.tcp!).toFixed(2)} | ${(m.unix! / m.tcp!).toFixed(2)} |`);
}
rmSync(dir, { recursive: true, force: true });
rmSync(certs.dir, { recursive: true, force: true });
