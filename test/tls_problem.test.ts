// What each runtime reported for each failed handshake (measured on Node 26.10 with OpenSSL 3.5,
// Bun 1.4.5 with BoringSSL, Deno 2.9.6 with rustls, both adapters), and the one line twine makes of it.
import { describe, expect, test } from "vitest";
import { ConnectError, connectError, handshakeProblem, parseClientEndpoint, runtimeText, tlsProblem } from "../src/mod.ts";

type Raw = { code?: string; reason?: string; name?: string; message: string };
const error = (raw: Raw) => Object.assign(new Error(raw.message), raw);

// [what the client did, runtime and adapter, its error, twine's code, twine's text]
const SERVER_SIDE: [string, string, Raw, string, string][] = [
  ["sent an HTTP request", "bun native", { code: "EPROTO", message: "error:1000009c:SSL routines:OPENSSL_internal:HTTP_REQUEST" }, "TLS_NOT_TLS", "the client sent an HTTP request, not TLS"],
  ["sent an HTTP request", "bun node:net", { code: "ERR_SSL_HTTP_REQUEST", reason: "HTTP_REQUEST", message: "error:1000009c:SSL routines:OPENSSL_internal:HTTP_REQUEST" }, "TLS_NOT_TLS", "the client sent an HTTP request, not TLS"],
  ["sent an HTTP request", "deno native", { name: "InvalidData", message: "received corrupt message of type InvalidContentType" }, "TLS_NOT_TLS", "the client did not speak TLS"],
  ["sent an HTTP request", "deno node:net", { code: "ERR_SSL_WRONG_VERSION_NUMBER", message: "received corrupt message of type InvalidContentType (SSL routines:ssl3_get_record:wrong version number)" }, "TLS_NOT_TLS", "the client did not speak TLS"],
  ["sent an HTTP request", "node", { code: "ERR_SSL_HTTP_REQUEST", reason: "http request", message: "40F38D28117F0000:error:0A00009C:SSL routines:tls_validate_record_header:http request:../deps/openssl/openssl/ssl/record/methods/tlsany_meth.c:68:" }, "TLS_NOT_TLS", "the client sent an HTTP request, not TLS"],
  ["offered TLS 1.1 only", "bun native", { code: "EPROTO", message: "error:100000f0:SSL routines:OPENSSL_internal:UNSUPPORTED_PROTOCOL" }, "TLS_VERSION", "the client offers no TLS version this server accepts"],
  ["offered TLS 1.1 only", "deno native", { name: "InvalidData", message: "peer is incompatible: SignatureAlgorithmsExtensionRequired" }, "TLS_VERSION", "the client offers no TLS version this server accepts"],
  ["offered TLS 1.1 only", "deno node:net", { code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", message: "peer is incompatible: SignatureAlgorithmsExtensionRequired" }, "TLS_VERSION", "the client offers no TLS version this server accepts"],
  ["offered TLS 1.1 only", "node", { code: "ERR_SSL_UNSUPPORTED_PROTOCOL", reason: "unsupported protocol", message: "40038422F77F0000:error:0A000102:SSL routines:tls_early_post_process_client_hello:unsupported protocol:../deps/openssl/openssl/ssl/statem/statem_srvr.c:1780:" }, "TLS_VERSION", "the client offers no TLS version this server accepts"],
  ["shared no suite", "bun node:net", { code: "ERR_SSL_NO_SHARED_CIPHER", reason: "NO_SHARED_CIPHER", message: "error:100000b8:SSL routines:OPENSSL_internal:NO_SHARED_CIPHER" }, "TLS_NO_SHARED_CIPHER", "the client shares no cipher suite with this server"],
  ["shared no suite", "deno node:net", { code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", message: "peer is incompatible: NoCipherSuitesInCommon" }, "TLS_NO_SHARED_CIPHER", "the client shares no cipher suite with this server"],
  ["shared no suite", "node", { code: "ERR_SSL_NO_SHARED_CIPHER", reason: "no shared cipher", message: "40333699B07F0000:error:0A0000C1:SSL routines:tls_post_process_client_hello:no shared cipher:../deps/openssl/openssl/ssl/statem/statem_srvr.c:2362:" }, "TLS_NO_SHARED_CIPHER", "the client shares no cipher suite with this server"],
  ["did not trust the CA", "deno native", { name: "InvalidData", message: "received fatal alert: UnknownCA" }, "TLS_CERT_REJECTED", "the client does not trust this server's certificate (unknown CA)"],
  ["did not trust the CA", "node", { code: "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", reason: "tlsv1 alert unknown ca", message: "402327E4087F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 48" }, "TLS_CERT_REJECTED", "the client does not trust this server's certificate (unknown CA)"],
  ["found the certificate expired", "deno node:net", { code: "ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED", message: "received fatal alert: CertificateExpired" }, "TLS_CERT_REJECTED", "the client rejected this server's certificate as expired"],
  ["found the certificate expired", "node", { code: "ERR_SSL_SSL/TLS_ALERT_CERTIFICATE_EXPIRED", reason: "ssl/tls alert certificate expired", message: "40C32D1D987F0000:error:0A000415:SSL routines:ssl3_read_bytes:ssl/tls alert certificate expired:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 45" }, "TLS_CERT_REJECTED", "the client rejected this server's certificate as expired"],
  ["found the name wrong", "deno native", { name: "InvalidData", message: "received fatal alert: BadCertificate" }, "TLS_CERT_REJECTED", "the client rejected this server's certificate (wrong name or not trusted)"],
  ["found the name wrong", "node", { code: "ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE", reason: "ssl/tls alert bad certificate", message: "40737294797F0000:error:0A000412:SSL routines:ssl3_read_bytes:ssl/tls alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 42" }, "TLS_CERT_REJECTED", "the client rejected this server's certificate (wrong name or not trusted)"],
  ["rejected the certificate over TLS 1.3", "bun native", { code: "EPROTO", message: "error:10000070:SSL routines:OPENSSL_internal:BAD_PACKET_LENGTH" }, "TLS_CERT_REJECTED", "the client ended the handshake with an alert (most often: it rejects this server's certificate)"],
  ["closed before its ClientHello", "bun native", { code: "ECONNRESET", message: "Client network socket disconnected before secure TLS connection was established" }, "ECONNRESET", "the client closed the connection during the handshake"],
  ["closed before its ClientHello", "bun node:net", { code: "ECONNRESET", message: "socket hang up" }, "ECONNRESET", "the client closed the connection during the handshake"],
  ["closed before its ClientHello", "deno native", { name: "UnexpectedEof", message: "unexpected end of file" }, "ECONNRESET", "the client closed the connection during the handshake"],
  ["reset before its ClientHello", "bun native", { code: "ECONNRESET", message: "ECONNRESET: connection reset by peer, read" }, "ECONNRESET", "the client reset the connection during the handshake"],
  ["reset before its ClientHello", "deno native", { name: "ConnectionReset", code: "ECONNRESET", message: "connection reset" }, "ECONNRESET", "the client reset the connection during the handshake"],
  ["reset before its ClientHello", "node", { code: "ECONNRESET", message: "read ECONNRESET" }, "ECONNRESET", "the client reset the connection during the handshake"],
];

// [what the server did, runtime and adapter, its error, twine's code, twine's text]
const CLIENT_SIDE: [string, string, Raw, string, string][] = [
  ["offered TLS 1.1 only", "bun native", { code: "EPROTO", message: "error:1000042e:SSL routines:OPENSSL_internal:TLSV1_ALERT_PROTOCOL_VERSION" }, "TLS_VERSION", "the server offers no TLS version this client accepts"],
  ["offered TLS 1.1 only", "deno native", { name: "InvalidData", message: "received fatal alert: ProtocolVersion" }, "TLS_VERSION", "the server offers no TLS version this client accepts"],
  ["offered TLS 1.1 only", "node", { code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", reason: "tlsv1 alert protocol version", message: "40633839B37F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 70" }, "TLS_VERSION", "the server offers no TLS version this client accepts"],
  ["offered AES128-SHA only", "bun native", { code: "EPROTO", message: "error:10000410:SSL routines:OPENSSL_internal:SSLV3_ALERT_HANDSHAKE_FAILURE" }, "TLS_HANDSHAKE_REFUSED", "the server refused the TLS handshake (most often: no cipher suite in common)"],
  ["offered AES128-SHA only", "deno node:net", { code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", message: "received fatal alert: HandshakeFailure" }, "TLS_HANDSHAKE_REFUSED", "the server refused the TLS handshake (most often: no cipher suite in common)"],
  ["offered AES128-SHA only", "node", { code: "ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE", reason: "ssl/tls alert handshake failure", message: "4083EFCE727F0000:error:0A000410:SSL routines:ssl3_read_bytes:ssl/tls alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 40" }, "TLS_HANDSHAKE_REFUSED", "the server refused the TLS handshake (most often: no cipher suite in common)"],
  ["answered in plaintext", "bun node:net", { code: "ERR_SSL_WRONG_VERSION_NUMBER", reason: "WRONG_VERSION_NUMBER", message: "error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER" }, "TLS_NOT_TLS", "the server did not answer in TLS (a plaintext port?)"],
  ["answered in plaintext", "deno native", { name: "InvalidData", message: "received corrupt message of type InvalidContentType" }, "TLS_NOT_TLS", "the server did not answer in TLS (a plaintext port?)"],
  ["answered in plaintext", "node", { code: "ERR_SSL_WRONG_VERSION_NUMBER", reason: "wrong version number", message: "401365185D7F0000:error:0A00010B:SSL routines:tls_validate_record_header:wrong version number:../deps/openssl/openssl/ssl/record/methods/tlsany_meth.c:78:\n" }, "TLS_NOT_TLS", "the server did not answer in TLS (a plaintext port?)"],
  ["closed at once", "bun native", { code: "ECONNRESET", message: "Client network socket disconnected before secure TLS connection was established" }, "ECONNRESET", "the server closed the connection during the TLS handshake"],
  ["closed at once", "deno native", { name: "UnexpectedEof", message: "unexpected end of file" }, "ECONNRESET", "the server closed the connection during the TLS handshake"],
  ["used a self-signed CA certificate as its own", "deno native", { name: "InvalidData", message: "invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))" }, "CERT_CA_AS_LEAF", "the server's certificate is a CA certificate (CA:TRUE), which deno native refuses as a server's own; give the server a certificate signed by that CA, or connect with --adapter node"],
];

describe("a failed handshake reads the same on every runtime", () => {
  test.each(SERVER_SIDE)("a client that %s, as %s reports it, is %s on the server", (_, _runtime, raw, code, text) => {
    expect(tlsProblem(error(raw), "server")).toEqual({ code, text });
  });

  test.each(CLIENT_SIDE)("a server that %s, as %s reports it, is %s on a tls: client", (_, _runtime, raw, code, text) => {
    const cause = error(raw);
    const e = connectError(parseClientEndpoint("tls:host=localhost:port=8443"), cause);
    expect({ code: e.code, message: e.message, cause: e.cause }).toEqual({ code, message: `Cannot connect to tls:localhost:8443: ${text}`, cause });
  });

  test("a certificate problem keeps its name on a tls: client, before what the server did", () => {
    const untrusted = error({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE", message: "unable to verify the first certificate" });
    expect(handshakeProblem(untrusted, "client")).toEqual({ code: "CERT_UNTRUSTED", text: "the server's certificate is not trusted" });
    const rustls = error({ name: "InvalidData", message: "invalid peer certificate: certificate not valid for name \"localhost\"" });
    expect(handshakeProblem(rustls, "client")).toEqual({ code: "CERT_NAME_MISMATCH", text: "the server's certificate is for another name" });
  });

  test("a reset while connecting over plain TCP keeps its words; over TLS it is during the handshake", () => {
    const reset = error({ code: "ECONNRESET", message: "read ECONNRESET" });
    expect(connectError(parseClientEndpoint("tcp:h:80"), reset).message).toBe("Cannot connect to h:80: connection reset while connecting");
    expect(connectError(parseClientEndpoint("tls:h:443"), reset).message).toBe("Cannot connect to tls:h:443: the server reset the connection during the TLS handshake");
  });

  test("an error of no known kind is none of twine's, and its text loses OpenSSL's decoration", () => {
    const odd = error({ code: "ERR_SSL_SOMETHING_NEW", message: "40E31C2F647F0000:error:0A0000F4:SSL routines:ossl_statem_client_read_transition:unexpected message:../deps/openssl/openssl/ssl/statem/statem_clnt.c:396:" });
    expect(tlsProblem(odd, "client")).toBeUndefined();
    expect(tlsProblem(odd, "server")).toBeUndefined();
    expect(runtimeText(odd)).toBe("unexpected message");
    const e = connectError(parseClientEndpoint("tls:h:443"), odd);
    expect(e).toBeInstanceOf(ConnectError);
    expect({ code: e.code, message: e.message }).toEqual({ code: "ERR_SSL_SOMETHING_NEW", message: "Cannot connect to tls:h:443: unexpected message" });
    expect(runtimeText(new Error("first line\nsecond"))).toBe("first line");
    expect(runtimeText("a string")).toBe("a string");
  });
});
