/**
 * twine's runtime-independent core: protocols, factories, transports and the
 * echo protocol. Pair it with an adapter (`../adapters/mod.ts` picks one) to listen.
 *
 * @module
 */
export { type Address, formatAddress, tcpAddress, unixAddress } from "./address.ts";
export { Connection, type ConnectionOptions, DEFAULT_HIGH_WATER_MARK, DEFAULT_LOW_WATER_MARK } from "./connection.ts";
export { EchoFactory, EchoProtocol } from "./echo.ts";
export { ConnectionAborted, ConnectionDone, connectionDone, ConnectionLost, type Reason } from "./errors.ts";
export { Factory } from "./factory.ts";
export { MemoryTransport, type MemoryTransportOptions } from "./memory_transport.ts";
export { type CloseOptions, type ListeningPort, type ListenOptions, Port } from "./port.ts";
export { Protocol } from "./protocol.ts";
export type { PeerCertificate, Socket, TlsInfo } from "./socket.ts";
export type { Producer, Transport } from "./transport.ts";
export { ListenError, listenError, resolveListenOptions } from "./listen_options.ts";
export {
  type ClientEndpoint,
  DEFAULT_CONNECT_TIMEOUT,
  describeServerEndpoint,
  formatServerEndpoint,
  parseClientEndpoint,
  parseServerEndpoint,
  quoteEndpointValue,
  type ServerEndpoint,
  splitEndpoint,
  type TcpClientEndpoint,
  type TcpServerEndpoint,
  type TlsClientEndpoint,
  type TlsServerEndpoint,
  type UnixClientEndpoint,
  type UnixServerEndpoint,
} from "./endpoints.ts";
export {
  ClientFactory,
  type ConnectOptions,
  type ConnectTarget,
  Connector,
  type Dial,
  factoryFor,
  resolveClientEndpoint,
  startConnecting,
} from "./client.ts";
export { ConnectError, connectError, describeClientEndpoint } from "./connect_error.ts";
export { ReconnectingClientFactory } from "./reconnecting_client_factory.ts";
export { UnixPort } from "./unix_port.ts";
