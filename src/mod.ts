/**
 * twine's runtime-independent core: protocols, factories, transports and the
 * echo protocol. Pair it with an adapter (`../adapters/mod.ts` picks one) to listen.
 *
 * @module
 */
export { AcceptErrors, type AcceptErrorsOptions, type AcceptFailureKind, classifyAcceptError } from "./accept_errors.ts";
export { type Address, formatAddress, tcpAddress, unixAddress } from "./address.ts";
export { Connection, type ConnectionOptions, DEFAULT_HIGH_WATER_MARK, DEFAULT_LOW_WATER_MARK } from "./connection.ts";
export { EchoFactory, EchoProtocol } from "./echo.ts";
export { ConnectionAborted, ConnectionDone, connectionDone, ConnectionLost, type Reason } from "./errors.ts";
export { Factory } from "./factory.ts";
export { MemoryTransport, type MemoryTransportOptions } from "./memory_transport.ts";
export { type CloseOptions, type ListeningPort, type ListenOptions, Port } from "./port.ts";
export { Protocol } from "./protocol.ts";
export type { PeerCertificate, Socket, TlsInfo } from "./socket.ts";
export { type StartTlsClientOptions, StartTlsError, type StartTlsOptions, type StartTlsServerOptions } from "./start_tls.ts";
export type { Producer, Transport } from "./transport.ts";
export { ListenError, listenError, resolveListenOptions } from "./listen_options.ts";
export { FramingError, NetstringParseError } from "./framing_error.ts";
export { BaseLineReceiver, LineReceiver } from "./line_receiver.ts";
export { PausableProtocol } from "./pausable_protocol.ts";
export { LineOnlyReceiver } from "./line_only_receiver.ts";
export { TextLineReceiver } from "./text_line_receiver.ts";
export { formatNetstring, NetstringReceiver } from "./netstring_receiver.ts";
export { Int16StringReceiver, Int32StringReceiver, Int8StringReceiver, IntNStringReceiver } from "./int_string_receiver.ts";
export { type DatagramAddress, DatagramProtocol, type DatagramTransport, udpAddress } from "./datagram_protocol.ts";
export {
  type DatagramListenOptions,
  DatagramPort,
  type DatagramSocket,
  type ListeningDatagramPort,
  MAX_DATAGRAM_SIZE,
  resolveDatagramOptions,
} from "./datagram_port.ts";
export { type TokenBucketOptions, TokenBuckets } from "./token_bucket.ts";
export { type EchoDatagramOptions, EchoDatagramProtocol } from "./udp_echo.ts";
export {
  DEFAULT_V2_MAX_LENGTH,
  formatIPv6,
  type ProxyHeader,
  ProxyHeaderParser,
  type ProxyParseResult,
  V1_MAX_LENGTH,
} from "./proxy_header.ts";
export { DEFAULT_PROXY_HEADER_TIMEOUT, ProxyProtocolReceiver } from "./proxy_protocol.ts";
export { RateLimitedLog } from "./rate_limited_log.ts";
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
  type UdpServerEndpoint,
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
