/**
 * Listens with the adapter native to the runtime this runs on, or with the
 * `node:net` adapter when asked (Bun and Deno both implement `node:net`).
 *
 * @module
 */
export {
  type AutoConnectOptions,
  type AutoListeningPort,
  type AutoListenOptions,
  connect,
  connectProtocol,
  listen,
  listenEndpoint,
  loadAdapter,
} from "./listen.ts";
export { collectReadGarbage } from "./node/read_garbage.ts";
export { type AdapterChoice, detectRuntime, type Runtime, type RuntimeName } from "./runtime.ts";
export { type AutoDatagramListenOptions, type AutoListeningDatagramPort, listenUDP, listenUDPEndpoint } from "./udp.ts";
