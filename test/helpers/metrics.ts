import type net from "node:net";
import { collect, connect, type Target } from "./client.ts";

/** The samples of a Prometheus text exposition: `name{labels}` → value, in the text's own label order. */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** `GET /metrics` from a loopback port, parsed. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return parseExposition(await response.text());
}

/** The status `GET /healthz` answers with on a loopback port. */
export async function healthz(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  await response.arrayBuffer();
  return response.status;
}

/** A connection to an echo server that was served, or refused by its limit. */
export type Outcome = { served: true; sock: net.Socket } | { served: false };

/**
 * Connects to an echo server and sends `text`: it comes back if the connection is served;
 * one refused by `--max-connections` is closed at once (what it sent is discarded unread and
 * not counted: the server's connection is already closing when it arrives).
 *
 * @returns The open socket if served; a refused one is closed both ways before this resolves.
 */
export async function serveOrRefuse(target: Target, text = "x"): Promise<Outcome> {
  const sock = await connect(target);
  sock.on("error", () => {});
  const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
  const outcome = await new Promise<boolean>((resolve) => {
    let got = "";
    sock.on("data", (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) resolve(true);
    });
    sock.once("end", () => resolve(false));
    sock.once("close", () => resolve(false));
    sock.write(text);
  });
  sock.removeAllListeners("data");
  if (outcome) return { served: true, sock };
  // The server has sent its FIN: ours lets it close.
  sock.end();
  await closed;
  return { served: false };
}

/** Half-closes a served echo connection and waits until the server has closed it too. */
export async function finish(sock: net.Socket): Promise<void> {
  const done = collect(sock, 10_000);
  sock.end();
  await done;
}
