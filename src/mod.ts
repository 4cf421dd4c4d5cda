/**
 * twine's runtime-independent core: protocols, factories, transports and the
 * echo protocol. Pair it with an adapter (`../adapters/mod.ts` picks one) to listen.
 *
 * @module
 */
export {
  AcceptErrors,
  type AcceptErrorsOptions,
  type AcceptFailureCounts,
  type AcceptFailureKind,
  classifyAcceptError,
} from "./transport/accept_errors.ts";
export { type Address, formatAddress, tcpAddress, unixAddress } from "./transport/address.ts";
export {
  Connection,
  type ConnectionOptions,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_LOW_WATER_MARK,
  type TrafficCounts,
} from "./transport/connection.ts";
export { EchoFactory, EchoProtocol } from "./wire/echo.ts";
export { DiscardFactory, DiscardProtocol } from "./wire/discard.ts";
export { ChargenFactory, ChargenProtocol } from "./wire/chargen.ts";
export { DaytimeFactory, DaytimeProtocol } from "./wire/daytime.ts";
export {
  ConnectionAborted,
  ConnectionDone,
  connectionDone,
  ConnectionLost,
  IdleTimeout,
  ProtocolError,
  type Reason,
} from "./transport/errors.ts";
export { Factory } from "./transport/factory.ts";
export { MemoryTransport, type MemoryTransportOptions } from "./transport/memory_transport.ts";
export { type CloseOptions, type ListeningPort, type ListenOptions, Port, preparePort } from "./transport/port.ts";
export { PORT_METRIC_NAMES, type PortMetrics } from "./transport/port_metrics.ts";
export { defaultLog, type LogEvent, type LogFieldValue, type LogFunction, type LogLevel } from "./transport/log_event.ts";
export { Protocol } from "./transport/protocol.ts";
export type { PeerCertificate, Socket, TlsInfo } from "./transport/socket.ts";
export { type StartTlsClientOptions, StartTlsError, type StartTlsOptions, type StartTlsServerOptions } from "./transport/start_tls.ts";
export type { Producer, Transport } from "./transport/transport.ts";
export { ListenError, listenError, resolveListenOptions } from "./transport/listen_options.ts";
export { FramingError, NetstringParseError } from "./framing/framing_error.ts";
export { BaseLineReceiver, LineReceiver } from "./framing/line_receiver.ts";
export { PausableProtocol } from "./framing/pausable_protocol.ts";
export { LineOnlyReceiver } from "./framing/line_only_receiver.ts";
export { TextLineReceiver } from "./framing/text_line_receiver.ts";
export { formatNetstring, NetstringReceiver } from "./framing/netstring_receiver.ts";
export { Int16StringReceiver, Int32StringReceiver, Int8StringReceiver, IntNStringReceiver } from "./framing/int_string_receiver.ts";
export { type DatagramAddress, DatagramProtocol, type DatagramTransport, udpAddress } from "./udp/datagram_protocol.ts";
export {
  type DatagramListenOptions,
  DatagramPort,
  type DatagramPortMetrics,
  type DatagramSocket,
  type ListeningDatagramPort,
  MAX_DATAGRAM_SIZE,
  resolveDatagramOptions,
} from "./udp/datagram_port.ts";
export { type TokenBucketOptions, TokenBuckets } from "./udp/token_bucket.ts";
export { type EchoDatagramMetrics, type EchoDatagramOptions, EchoDatagramProtocol } from "./udp/udp_echo.ts";
export {
  DEFAULT_V2_MAX_LENGTH,
  formatIPv6,
  type ProxyHeader,
  ProxyHeaderParser,
  type ProxyParseResult,
  V1_MAX_LENGTH,
} from "./proxy/proxy_header.ts";
export { DEFAULT_PROXY_HEADER_TIMEOUT, ProxyProtocolReceiver } from "./proxy/proxy_protocol.ts";
export { RateLimitedLog, type RateLimitedLogContext } from "./transport/rate_limited_log.ts";
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
} from "./endpoints/endpoints.ts";
export {
  ClientFactory,
  type ConnectOptions,
  type ConnectTarget,
  Connector,
  type Dial,
  factoryFor,
  resolveClientEndpoint,
  startConnecting,
} from "./endpoints/client.ts";
export { ConnectError, connectError, describeClientEndpoint, handshakeProblem } from "./endpoints/connect_error.ts";
export { runtimeText, type TlsProblem, tlsProblem } from "./endpoints/tls_problem.ts";
export { checkTlsPolicy, INTERMEDIATE_CIPHERS, type TlsMinVersion, type TlsPolicy, withTlsPolicy } from "./endpoints/tls_policy.ts";
export { ReconnectingClientFactory } from "./endpoints/reconnecting_client_factory.ts";
export { UnixPort } from "./transport/unix_port.ts";
