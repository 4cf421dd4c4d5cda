/**
 * Before a supervisor starts workers that share ports with `SO_REUSEPORT`: checks that nothing
 * else listens there (workers of another server would share the port silently) and picks the
 * free ports that `port 0` asks for, so that every worker, a replacement too, binds the same.
 *
 * @module
 */
import net from "node:net";
import type { ServerEndpoint } from "../src/endpoints/endpoints.ts";
import { ListenError, listenError } from "../src/transport/listen_options.ts";
import { granted } from "./deno_permissions.ts";

function bindOnce(host: string, port: number): Promise<net.Server> {
  if (!granted("net", port === 0 ? host : `${host}:${port}`)) {
    return Promise.reject(new ListenError(`Cannot listen on ${host}:${port}: network access denied; run deno with --allow-net`, "ENOTCAPABLE"));
  }
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (error) => reject(listenError(host, port, error)));
    // exclusive: not shared, so a socket bound with SO_REUSEPORT by anyone makes this fail.
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

/**
 * Binds each TCP and TLS endpoint once, without sharing, and closes it again.
 *
 * @param endpoints The endpoints the workers will listen on.
 * @returns The same endpoints, with port 0 replaced by the port picked.
 * @throws {ListenError} If one is in use or cannot be bound, in one line (the promise rejects).
 */
export async function claimPorts(endpoints: readonly ServerEndpoint[]): Promise<ServerEndpoint[]> {
  const held: net.Server[] = [];
  try {
    const out: ServerEndpoint[] = [];
    for (const e of endpoints) {
      if (e.type !== "tcp" && e.type !== "tcp6" && e.type !== "ssl") {
        out.push(e);
        continue;
      }
      // Held until all are bound, so that two endpoints asking for port 0 on one host get different ports.
      const server = await bindOnce(e.host, e.port);
      held.push(server);
      out.push({ ...e, port: (server.address() as net.AddressInfo).port });
    }
    return out;
  } finally {
    await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
