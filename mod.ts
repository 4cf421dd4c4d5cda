/**
 * twine: a Twisted-style TCP protocol core with one adapter per runtime.
 * `listen` picks the adapter native to the runtime it runs on.
 *
 * @example
 * ```ts
 * import { EchoFactory, listen } from "./mod.ts";
 * const port = await listen(new EchoFactory(), { port: 0 });
 * await port.close();
 * ```
 *
 * @module
 */
export * from "./src/mod.ts";
export {
  type AdapterChoice,
  type AutoDatagramListenOptions,
  type AutoListeningDatagramPort,
  type AutoConnectOptions,
  type AutoListeningPort,
  connect,
  connectProtocol,
  type AutoListenOptions,
  collectReadGarbage,
  detectRuntime,
  listen,
  listenUDP,
  listenUDPEndpoint,
  listenEndpoint,
  loadAdapter,
  type Runtime,
  type RuntimeName,
} from "./adapters/mod.ts";
