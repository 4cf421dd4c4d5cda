import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  formatServerEndpoint,
  parseClientEndpoint,
  parseServerEndpoint,
  quoteEndpointValue,
  splitEndpoint,
} from "../src/endpoints/endpoints.ts";

describe("server endpoint strings", () => {
  test.each([
    ["tcp:8000", { type: "tcp", port: 8000, host: "127.0.0.1" }],
    ["tcp:0:interface=0.0.0.0:backlog=511", { type: "tcp", port: 0, host: "0.0.0.0", backlog: 511 }],
    ["tcp:port=8000", { type: "tcp", port: 8000, host: "127.0.0.1" }],
    ["tcp6:8000:interface=\\:\\:1", { type: "tcp6", port: 8000, host: "::1" }],
    ["tcp6:8000", { type: "tcp6", port: 8000, host: "::1" }],
    ["unix:/tmp/echo.sock:mode=660", { type: "unix", path: "/tmp/echo.sock", mode: 0o660 }],
    ["unix:/tmp/echo.sock", { type: "unix", path: "/tmp/echo.sock", mode: 0o666 }],
    ["unix:address=/tmp/a\\:b.sock:lockfile=0", { type: "unix", path: "/tmp/a:b.sock", mode: 0o666 }],
    [
      "ssl:8443:privateKey=key.pem:certKey=cert.pem",
      { type: "ssl", port: 8443, host: "127.0.0.1", privateKey: "key.pem", certKey: "cert.pem" },
    ],
    ["ssl:8443", { type: "ssl", port: 8443, host: "127.0.0.1", privateKey: "server.pem", certKey: "server.pem" }],
    ["udp:7", { type: "udp", port: 7, host: "127.0.0.1" }],
    ["udp:0:interface=0.0.0.0", { type: "udp", port: 0, host: "0.0.0.0" }],
    ["udp:port=7:interface=\\:\\:1", { type: "udp", port: 7, host: "::1" }],
    ["udp:7:0.0.0.0", { type: "udp", port: 7, host: "0.0.0.0" }],
    [
      "ssl:8443:privateKey=k.pem:extraCertChain=chain.pem:alpn=h2;http/1.1",
      {
        type: "ssl", port: 8443, host: "127.0.0.1", privateKey: "k.pem", certKey: "k.pem",
        extraCertChain: "chain.pem", alpn: ["h2", "http/1.1"],
      },
    ],
    [
      "ssl:8443:privateKey=k.pem:minVersion=1.3:ciphers=ECDHE-ECDSA-AES128-GCM-SHA256",
      {
        type: "ssl", port: 8443, host: "127.0.0.1", privateKey: "k.pem", certKey: "k.pem",
        ciphers: ["ECDHE-ECDSA-AES128-GCM-SHA256"], minVersion: "1.3",
      },
    ],
  ])("%s parses as Twisted's serverFromString reads it (udp:, alpn=, ciphers= and minVersion= are twine's own)", (text, expected) => {
    expect(parseServerEndpoint(text)).toEqual(expected);
  });

  test.each([
    ["", "Cannot parse server endpoint '': no endpoint type (expected tcp, tcp6, ssl, unix, udp)"],
    ["sctp:53", "Cannot parse server endpoint 'sctp:53': unknown endpoint type 'sctp' (expected tcp, tcp6, ssl, unix, udp)"],
    ["udp", "Cannot parse server endpoint 'udp': missing port"],
    ["udp:70000", "Cannot parse server endpoint 'udp:70000': bad port '70000' (expected an integer from 0 to 65535)"],
    ["udp:7:interface=", "Cannot parse server endpoint 'udp:7:interface=': missing value for interface"],
    ["udp:7:backlog=5", "Cannot parse server endpoint 'udp:7:backlog=5': unknown parameter 'backlog' for udp (expected port, interface)"],
    ["udp:7:127.0.0.1:8", "Cannot parse server endpoint 'udp:7:127.0.0.1:8': unexpected argument '8' (udp takes at most 2 by position: port, interface)"],
    ["haproxy:udp:7", "Cannot parse server endpoint 'haproxy:udp:7': haproxy: does not apply to udp (PROXY headers come before a stream)"],
    ["tcp", "Cannot parse server endpoint 'tcp': missing port"],
    ["tcp:", "Cannot parse server endpoint 'tcp:': missing value for port"],
    ["tcp:70000", "Cannot parse server endpoint 'tcp:70000': bad port '70000' (expected an integer from 0 to 65535)"],
    ["tcp:abc", "Cannot parse server endpoint 'tcp:abc': bad port 'abc' (expected an integer from 0 to 65535)"],
    ["tcp:80:bogus=1", "Cannot parse server endpoint 'tcp:80:bogus=1': unknown parameter 'bogus' for tcp (expected port, interface, backlog)"],
    ["tcp:80:interface=", "Cannot parse server endpoint 'tcp:80:interface=': missing value for interface"],
    [
      "tcp:80:127.0.0.1:10:20",
      "Cannot parse server endpoint 'tcp:80:127.0.0.1:10:20': unexpected argument '20' (tcp takes at most 3 by position: port, interface, backlog)",
    ],
    ["tcp:80:port=90", "Cannot parse server endpoint 'tcp:80:port=90': port given twice, '80' by position and port=90 by name"],
    [
      "tcp:80:127.0.0.1:interface=0.0.0.0",
      "Cannot parse server endpoint 'tcp:80:127.0.0.1:interface=0.0.0.0': interface given twice, '127.0.0.1' by position and interface=0.0.0.0 by name",
    ],
    ["tcp:port=80:90", "Cannot parse server endpoint 'tcp:port=80:90': port given twice, '90' by position and port=80 by name"],
    ["tcp:port=80:port=90", "Cannot parse server endpoint 'tcp:port=80:port=90': parameter 'port' given twice"],
    ["tcp:80:127.0.0.1:x", "Cannot parse server endpoint 'tcp:80:127.0.0.1:x': bad backlog 'x' (expected a whole number)"],
    [
      "ssl:8443:key.pem:cert.pem:SSLv23_METHOD",
      "Cannot parse server endpoint 'ssl:8443:key.pem:cert.pem:SSLv23_METHOD': argument 'SSLv23_METHOD' would be sslmethod, which twine does not support (ssl takes port, privateKey, certKey by position; name the rest)",
    ],
    [
      "unix:/tmp/s:660:10:1:x",
      "Cannot parse server endpoint 'unix:/tmp/s:660:10:1:x': unexpected argument 'x' (unix takes at most 4 by position: address, mode, backlog, lockfile)",
    ],
    ["unix:/tmp/s:999", "Cannot parse server endpoint 'unix:/tmp/s:999': bad mode '999' (expected octal permission bits such as 660)"],
    ["tcp:80:backlog=x", "Cannot parse server endpoint 'tcp:80:backlog=x': bad backlog 'x' (expected a whole number)"],
    ["tcp6:80:interface=127.0.0.1", "Cannot parse server endpoint 'tcp6:80:interface=127.0.0.1': bad interface '127.0.0.1' for tcp6 (expected an IPv6 address)"],
    ["unix:/tmp/s:mode=999", "Cannot parse server endpoint 'unix:/tmp/s:mode=999': bad mode '999' (expected octal permission bits such as 660)"],
    ["tcp:80\\", "Cannot parse server endpoint 'tcp:80\\': ends in a lone backslash"],
  ])("%s is refused with one line naming the wrong part", (text, message) => {
    expect(() => parseServerEndpoint(text)).toThrow(message);
    try {
      parseServerEndpoint(text);
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });
});

describe("positional arguments, bound in Twisted's order", () => {
  test.each([
    // _parseTCP(factory, port, interface="", backlog=50)
    ["tcp:80:127.0.0.1", { type: "tcp", port: 80, host: "127.0.0.1" }],
    ["tcp:80:127.0.0.1:10", { type: "tcp", port: 80, host: "127.0.0.1", backlog: 10 }],
    ["tcp:80:0.0.0.0:backlog=10", { type: "tcp", port: 80, host: "0.0.0.0", backlog: 10 }],
    ["tcp:interface=0.0.0.0:80", { type: "tcp", port: 80, host: "0.0.0.0" }],
    // The tcp6 parser's _parseServer(reactor, port, backlog=50, interface="::")
    ["tcp6:80:10:\\:\\:1", { type: "tcp6", port: 80, host: "::1", backlog: 10 }],
    // _parseSSL(factory, port, privateKey="server.pem", certKey=None, sslmethod=None, interface="", backlog=50, ...)
    ["ssl:8443:key.pem", { type: "ssl", port: 8443, host: "127.0.0.1", privateKey: "key.pem", certKey: "key.pem" }],
    ["ssl:8443:key.pem:cert.pem", { type: "ssl", port: 8443, host: "127.0.0.1", privateKey: "key.pem", certKey: "cert.pem" }],
    [
      "ssl:8443:key.pem:cert.pem:interface=0.0.0.0:backlog=5",
      { type: "ssl", port: 8443, host: "0.0.0.0", privateKey: "key.pem", certKey: "cert.pem", backlog: 5 },
    ],
    // _parseUNIX(factory, address, mode="666", backlog=50, lockfile=True)
    ["unix:/tmp/x.sock:660", { type: "unix", path: "/tmp/x.sock", mode: 0o660 }],
    ["unix:/tmp/x.sock:660:7:0", { type: "unix", path: "/tmp/x.sock", mode: 0o660, backlog: 7 }],
    ["haproxy:tcp:80:127.0.0.1", { type: "tcp", port: 80, host: "127.0.0.1", proxyProtocol: true }],
  ])("server %s", (text, expected) => {
    expect(parseServerEndpoint(text)).toEqual(expected);
  });

  test.each([
    // _parseClientTCP: host then port; with host= named, a lone positional argument is the port.
    ["tcp:host=example.com:80", { type: "tcp", host: "example.com", port: 80, timeout: 30_000 }],
    ["tcp:example.com:port=80", { type: "tcp", host: "example.com", port: 80, timeout: 30_000 }],
    ["tcp:port=80:example.com", { type: "tcp", host: "example.com", port: 80, timeout: 30_000 }],
    ["tcp:example.com:80", { type: "tcp", host: "example.com", port: 80, timeout: 30_000 }],
    [
      "tls:host=example.com:443",
      { type: "tls", host: "example.com", port: 443, timeout: 30_000, servername: "example.com" },
    ],
  ])("client %s", (text, expected) => {
    expect(parseClientEndpoint(text)).toEqual(expected);
  });

  test.each([
    ["tcp:a:80:host=b", "Cannot parse client endpoint 'tcp:a:80:host=b': host given twice, 'a' by position and host=b by name"],
    ["tcp:host=a:port=80:81", "Cannot parse client endpoint 'tcp:host=a:port=80:81': port given twice, '81' by position and port=80 by name"],
    ["tcp:a:80:81", "Cannot parse client endpoint 'tcp:a:80:81': unexpected argument '81' (tcp takes at most 2 by position: host, port)"],
    ["tcp:host=a:80:81", "Cannot parse client endpoint 'tcp:host=a:80:81': host given twice, '80' by position and host=a by name"],
    ["unix:/a:/b", "Cannot parse client endpoint 'unix:/a:/b': unexpected argument '/b' (unix takes at most 1 by position: path)"],
  ])("client %s is refused with one line saying what was given twice or too many", (text, message) => {
    expect(() => parseClientEndpoint(text)).toThrow(message);
  });
});

describe("client endpoint strings", () => {
  test.each([
    ["tcp:host=127.0.0.1:port=8000", { type: "tcp", host: "127.0.0.1", port: 8000, timeout: 30_000 }],
    ["tcp:127.0.0.1:8000:timeout=2.5", { type: "tcp", host: "127.0.0.1", port: 8000, timeout: 2500 }],
    ["tcp:host=\\:\\:1:port=1", { type: "tcp", host: "::1", port: 1, timeout: 30_000 }],
    [
      "tls:host=localhost:port=8443:trustRoots=ca.pem",
      { type: "tls", host: "localhost", port: 8443, timeout: 30_000, trustRoots: "ca.pem", servername: "localhost" },
    ],
    [
      "tls:host=127.0.0.1:port=1:servername=example.test:alpn=h2",
      { type: "tls", host: "127.0.0.1", port: 1, timeout: 30_000, servername: "example.test", alpn: ["h2"] },
    ],
    [
      "tls:host=localhost:port=1:ciphers=ECDHE-RSA-AES128-GCM-SHA256;ECDHE-RSA-CHACHA20-POLY1305:minVersion=1.3",
      {
        type: "tls", host: "localhost", port: 1, timeout: 30_000, servername: "localhost",
        ciphers: ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"], minVersion: "1.3",
      },
    ],
    ["unix:path=/tmp/echo.sock", { type: "unix", path: "/tmp/echo.sock", timeout: 30_000 }],
    ["unix:/tmp/echo.sock:timeout=1", { type: "unix", path: "/tmp/echo.sock", timeout: 1000 }],
  ])("%s parses as Twisted's clientFromString reads it (ciphers= and minVersion= are twine's)", (text, expected) => {
    expect(parseClientEndpoint(text)).toEqual(expected);
  });

  test.each([
    ["tcp:host=h", "Cannot parse client endpoint 'tcp:host=h': missing port"],
    ["tcp:port=1", "Cannot parse client endpoint 'tcp:port=1': missing host"],
    ["tcp:host=h:port=1:timeout=0", "Cannot parse client endpoint 'tcp:host=h:port=1:timeout=0': bad timeout '0' (expected a number of seconds above 0)"],
    ["ssl:host=h:port=1", "Cannot parse client endpoint 'ssl:host=h:port=1': unknown endpoint type 'ssl' (expected tcp, tls, unix)"],
    ["unix:path=/x:mode=1", "Cannot parse client endpoint 'unix:path=/x:mode=1': unknown parameter 'mode' for unix (expected path, timeout)"],
    ["udp:host=h:port=7", "Cannot parse client endpoint 'udp:host=h:port=7': udp is a server endpoint only (bind one with listenUDPEndpoint)"],
    ["tls:h:1:minVersion=1.1", "Cannot parse client endpoint 'tls:h:1:minVersion=1.1': bad minVersion '1.1' (expected 1.2 or 1.3)"],
    ["tls:h:1:ciphers=;", "Cannot parse client endpoint 'tls:h:1:ciphers=;': ciphers is empty (leave it out for Mozilla's intermediate suites)"],
    [
      "tls:h:1:ciphers=TLS_AES_128_GCM_SHA256",
      "Cannot parse client endpoint 'tls:h:1:ciphers=TLS_AES_128_GCM_SHA256': cipher 'TLS_AES_128_GCM_SHA256' is a TLS 1.3 suite, which twine does not choose (every runtime offers the three of TLS 1.3)",
    ],
    [
      "tls:h:1:ciphers=HIGH!aNULL",
      "Cannot parse client endpoint 'tls:h:1:ciphers=HIGH!aNULL': bad cipher 'HIGH!aNULL' (expected the OpenSSL name of a TLS 1.2 suite, such as ECDHE-RSA-AES128-GCM-SHA256)",
    ],
    ["tcp:h:1:minVersion=1.3", "Cannot parse client endpoint 'tcp:h:1:minVersion=1.3': unknown parameter 'minVersion' for tcp (expected host, port, timeout)"],
  ])("%s is refused with one line naming the wrong part", (text, message) => {
    expect(() => parseClientEndpoint(text)).toThrow(message);
    expect(() => parseClientEndpoint(text)).not.toThrow(/\n/);
  });
});

test("a value in Twisted's syntax may hold '=' unescaped, as only ':' ends it", () => {
  expect(splitEndpoint("tls:host=h:port=1:trustRoots=/a=b.pem").kw.get("trustRoots")).toBe("/a=b.pem");
});

test("any text quoted with quoteEndpointValue reads back unchanged, as path and as named value", () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, unit: "binary" }), (text) => {
      const quoted = quoteEndpointValue(text);
      expect(parseServerEndpoint(`unix:${quoted}`)).toMatchObject({ path: text });
      expect(parseClientEndpoint(`unix:path=${quoted}`)).toMatchObject({ path: text });
      expect(splitEndpoint(`x:${quoted}:${quoted}=${quoted}`).kw.get(text)).toBe(text);
    }),
    { numRuns: 500 },
  );
});

test("formatServerEndpoint writes what parseServerEndpoint reads back as the same endpoint", () => {
  const path = fc.string({ minLength: 1 });
  const endpoint = fc.oneof(
    fc.record({
      type: fc.constantFrom("tcp" as const),
      port: fc.integer({ min: 0, max: 65535 }),
      host: fc.constantFrom("127.0.0.1", "0.0.0.0", "localhost"),
    }),
    fc.record({ type: fc.constant("tcp6" as const), port: fc.integer({ min: 0, max: 65535 }), host: fc.constantFrom("::1", "::") }),
    fc.record({ type: fc.constant("unix" as const), path, mode: fc.integer({ min: 0, max: 0o777 }) }),
    fc.record({ type: fc.constant("udp" as const), port: fc.integer({ min: 0, max: 65535 }), host: fc.constantFrom("127.0.0.1", "::1", "::") }),
    fc.record(
      {
        type: fc.constant("ssl" as const),
        port: fc.integer({ min: 0, max: 65535 }),
        host: fc.constant("127.0.0.1"),
        privateKey: path,
        certKey: path,
        alpn: fc.array(fc.constantFrom("h2", "http/1.1", "x"), { minLength: 1, maxLength: 3 }),
        ciphers: fc.array(fc.constantFrom("ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA", "ECDHE-ECDSA-CHACHA20-POLY1305"), { minLength: 1, maxLength: 3 }),
        minVersion: fc.constantFrom("1.2" as const, "1.3" as const),
      },
      { requiredKeys: ["type", "port", "host", "privateKey", "certKey"] },
    ),
  );
  fc.assert(
    fc.property(endpoint, (e) => {
      expect(parseServerEndpoint(formatServerEndpoint(e))).toEqual(e);
    }),
    { numRuns: 300 },
  );
});

test("haproxy: puts a PROXY protocol header in front of any server endpoint, as in Twisted", () => {
  expect(parseServerEndpoint("haproxy:tcp:8000")).toEqual({ type: "tcp", port: 8000, host: "127.0.0.1", proxyProtocol: true });
  expect(parseServerEndpoint("haproxy:unix:/tmp/e.sock").proxyProtocol).toBe(true);
  expect(formatServerEndpoint(parseServerEndpoint("haproxy:tcp6:9000"))).toBe("haproxy:tcp6:9000:interface=\\:\\:1");
  expect(() => parseServerEndpoint("haproxy:haproxy:tcp:8000")).toThrow(
    "Cannot parse server endpoint 'haproxy:haproxy:tcp:8000': haproxy: given twice",
  );
  expect(() => parseServerEndpoint("haproxy:")).toThrow(/Cannot parse server endpoint/);
});

test("formatServerEndpoint writes udp: with the interface escaped as tcp6: has it", () => {
  expect(formatServerEndpoint({ type: "udp", port: 7, host: "::1" })).toBe("udp:7:interface=\\:\\:1");
});

test("formatServerEndpoint writes an ssl: endpoint's TLS policy back", () => {
  const text = "ssl:8443:interface=127.0.0.1:privateKey=k.pem:certKey=c.pem:ciphers=AES128-SHA;ECDHE-RSA-AES128-GCM-SHA256:minVersion=1.3";
  expect(formatServerEndpoint(parseServerEndpoint(text))).toBe(text);
});
