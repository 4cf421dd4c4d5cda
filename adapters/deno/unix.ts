/**
 * Unix domain sockets for the Deno adapter, on `Deno.listen({ transport: "unix" })`,
 * served by the same accept loop and `DenoSocket` as TCP.
 *
 * @module
 */
import type { UnixServerEndpoint } from "../../src/endpoints/endpoints.ts";
import { unixAddress } from "../../src/transport/address.ts";
import type { Factory } from "../../src/transport/factory.ts";
import { type ListeningPort, type ListenOptions, preparePort } from "../../src/transport/port.ts";
import { UnixPort } from "../../src/transport/unix_port.ts";
import { acceptLoop, type DenoConnectApi, type DenoListener, denoApi } from "./socket.ts";
import { plainSocket } from "./tcp.ts";
import { closeUnixListener, prepareUnixPath, removeUnixPath, setUnixMode, socketFile, unixListenError } from "../shared/unix_path.ts";

/**
 * Listens on a Unix domain socket with `Deno.listen({ transport: "unix" })`.
 * Needs `--allow-read --allow-write`.
 *
 * @param factory Builds a protocol per connection.
 * @param endpoint The socket's path and mode.
 * @param options Watermarks, limits and error reporting.
 * @returns The listening port, once bound; closing it removes the socket file.
 * @throws {ListenError} If the path is too long, taken by a live server, or not writable.
 */
export async function listenUnix(factory: Factory, endpoint: UnixServerEndpoint, options: ListenOptions = {}): Promise<ListeningPort> {
  const { path } = endpoint;
  await preparePort(options);
  await prepareUnixPath(path);
  let listener: DenoListener;
  try {
    listener = (denoApi() as unknown as DenoConnectApi).listen({ path, transport: "unix" });
  } catch (error) {
    throw unixListenError(path, error);
  }
  try {
    setUnixMode(path, endpoint.mode);
  } catch (error) {
    listener.close();
    throw error;
  }
  const file = socketFile(path);
  const listening = new UnixPort(factory, unixAddress(path), options, () => {
    closeUnixListener(path, file, () => listener.close(), true);
  });
  // The TCP accept loop serves it: UnixPort gives the connections their Unix addresses,
  // and a Unix connection has no Nagle to turn off.
  void acceptLoop(listener, listening, plainSocket, false);
  return listening;
}
