// Connection.startTLS() without sockets: what goes out in plaintext, what waits for TLS, and how it ends.
import { describe, expect, test } from "vitest";
import {
  type Connection,
  Connection as ConnectionClass,
  LineReceiver,
  MemoryTransport,
  Protocol,
  type Reason,
  type Socket,
  StartTlsError,
  type StartTlsOptions,
  tcpAddress,
} from "../src/mod.ts";

const text = (chunks: Uint8Array[]) => new TextDecoder().decode(Uint8Array.from(chunks.flatMap((c) => [...c])));
const SERVER: StartTlsOptions = { side: "server", certKey: "cert.pem", privateKey: "key.pem" };

/** A socket that takes at most `room` bytes until `drain()`, and upgrades to the socket a test gives it. */
class ScriptedSocket implements Socket {
  written: Uint8Array[] = [];
  calls: string[] = [];
  pending = 0;
  room = Infinity;
  upgrade: { resolve(s: Socket): void; reject(e: unknown): void } | undefined;
  startedWith: StartTlsOptions | undefined;
  write(data: Uint8Array): number {
    const n = Math.min(data.length, this.room);
    this.room -= n;
    this.written.push(data.slice(0, n));
    return n;
  }
  pauseReading(): void {
    this.calls.push("pause");
  }
  resumeReading(): void {
    this.calls.push("resume");
  }
  shutdownWrite(): void {
    this.calls.push("shutdownWrite");
  }
  close(): void {
    this.calls.push("close");
  }
  abort(): void {
    this.calls.push("abort");
  }
  startTls(options: StartTlsOptions): Promise<Socket> {
    this.calls.push("startTls");
    this.startedWith = options;
    return new Promise((resolve, reject) => (this.upgrade = { resolve, reject }));
  }
}

class Lost extends Protocol {
  reasons: Reason[] = [];
  override connectionLost(reason: Reason): void {
    this.reasons.push(reason);
  }
}

function open(): { c: Connection; plain: ScriptedSocket; p: Lost } {
  const plain = new ScriptedSocket();
  const c = new ConnectionClass(plain, tcpAddress("127.0.0.1", 5000), tcpAddress("127.0.0.1", 25));
  const p = new Lost();
  c.connect(p);
  return { c, plain, p };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("Connection.startTLS", () => {
  test("sends what was written before the call in plaintext first, and what was written after through TLS", async () => {
    const { c, plain } = open();
    plain.room = 3;
    c.write("220 Ready\r\n");
    const started = c.startTLS(SERVER);
    c.write("after");
    // Reading stops at once: the next bytes from the peer belong to the handshake.
    expect(plain.calls).toEqual(["pause"]);
    // Only 3 of the 11 plaintext bytes went out, so TLS waits for the rest.
    expect(c.bufferSize).toBe(8 + 5);
    plain.room = Infinity;
    c.writable();
    expect(text(plain.written)).toBe("220 Ready\r\n");
    expect(plain.calls).toEqual(["pause", "startTls"]);
    expect(plain.startedWith).toBe(SERVER);
    c.write("more");
    const tls = new ScriptedSocket();
    plain.upgrade!.resolve(tls);
    await started;
    expect(text(tls.written)).toBe("aftermore");
    expect(text(plain.written)).toBe("220 Ready\r\n");
    c.write("!");
    expect(text(tls.written)).toBe("aftermore!");
  });

  test("a loseConnection during the handshake closes the TLS socket after what was held, not the plaintext one", async () => {
    const { c, plain } = open();
    const started = c.startTLS(SERVER);
    c.write("bye");
    c.loseConnection();
    expect(plain.calls).toEqual(["pause", "startTls"]);
    const tls = new ScriptedSocket();
    plain.upgrade!.resolve(tls);
    await started;
    expect(text(tls.written)).toBe("bye");
    expect(tls.calls).toEqual(["shutdownWrite"]);
  });

  test("keeps the TLS socket paused if the protocol paused during the handshake", async () => {
    const { c, plain } = open();
    const started = c.startTLS(SERVER);
    c.pauseProducing();
    const tls = new ScriptedSocket();
    plain.upgrade!.resolve(tls);
    await started;
    expect(tls.calls).toEqual(["pause"]);
    c.resumeProducing();
    expect(tls.calls).toEqual(["pause", "resume"]);
  });

  test("a failed handshake rejects with one line and closes the connection, connectionLost once with the same message", async () => {
    const { c, plain, p } = open();
    const started = c.startTLS({ side: "client", servername: "localhost" });
    plain.upgrade!.reject(Object.assign(new Error("certificate verify failed\nmore"), { code: "SELF_SIGNED_CERT_IN_CHAIN" }));
    const error = await started.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartTlsError);
    expect((error as Error).message).toBe("Cannot start TLS on the connection with 127.0.0.1:5000: the server's certificate is not trusted");
    expect(p.reasons.map((r) => r.message)).toEqual([(error as Error).message]);
    expect(c.disconnected).toBe(true);
    expect(plain.calls).toEqual(["pause", "startTls", "abort"]);
  });

  test.each([
    ["client", { code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", message: "40633839B37F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 70" }, "TLS_VERSION", "the server offers no TLS version this client accepts"],
    ["server", { code: "EPROTO", message: "error:1000009c:SSL routines:OPENSSL_internal:HTTP_REQUEST" }, "TLS_NOT_TLS", "the client sent an HTTP request, not TLS"],
    ["server", { name: "UnexpectedEof", message: "unexpected end of file" }, "ECONNRESET", "the client closed the connection during the handshake"],
  ] as const)("a failed handshake as %s reads as on a TLS endpoint: %o", async (side, raw, code, why) => {
    const { c, plain } = open();
    const started = c.startTLS(side === "server" ? SERVER : { side, servername: "localhost" });
    const cause = Object.assign(new Error(raw.message), raw);
    plain.upgrade!.reject(cause);
    const error = (await started.catch((e: unknown) => e)) as StartTlsError;
    expect({ message: error.message, code: error.code, cause: error.cause }).toEqual({
      message: `Cannot start TLS on the connection with 127.0.0.1:5000: ${why}`,
      code,
      cause,
    });
  });

  test("the connection's tls option reaches the adapter, and the call's own ciphers and minVersion win", async () => {
    const plain = new ScriptedSocket();
    const tls = { ciphers: ["AES128-SHA"], minVersion: "1.3" } as const;
    const c = new ConnectionClass(plain, tcpAddress("127.0.0.1", 5000), tcpAddress("127.0.0.1", 25), { tls });
    c.connect(new Lost());
    void c.startTLS({ ...SERVER, minVersion: "1.2" });
    expect(plain.startedWith).toEqual({ ...SERVER, minVersion: "1.2", ciphers: ["AES128-SHA"] });
  });

  test("a bad TLS policy is refused in one line and changes nothing", async () => {
    const { c, plain } = open();
    await expect(c.startTLS({ ...SERVER, minVersion: "1.0" as "1.2" })).rejects.toThrow(
      new StartTlsError("Cannot start TLS on the connection with 127.0.0.1:5000: bad minVersion '1.0' (expected 1.2 or 1.3)"),
    );
    expect(plain.calls).toEqual([]);
    expect(c.disconnected).toBe(false);
  });

  test("twine's own reason for failing to start TLS passes as it is, with no code", async () => {
    const { c, plain } = open();
    const started = c.startTLS(SERVER);
    plain.upgrade!.reject(new Error("cannot read certificate file 'cert.pem': no such file"));
    const error = (await started.catch((e: unknown) => e)) as StartTlsError;
    expect({ message: error.message, code: error.code }).toEqual({
      message: "Cannot start TLS on the connection with 127.0.0.1:5000: cannot read certificate file 'cert.pem': no such file",
      code: undefined,
    });
  });

  test("a second call rejects and leaves the first to finish", async () => {
    const { c, plain } = open();
    const first = c.startTLS(SERVER);
    await expect(c.startTLS(SERVER)).rejects.toThrow(
      /^Cannot start TLS on the connection with 127\.0\.0\.1:5000: TLS was already started$/,
    );
    plain.upgrade!.resolve(new ScriptedSocket());
    await first;
    await expect(c.startTLS(SERVER)).rejects.toThrow(/TLS was already started$/);
  });

  test("on a closed or closing connection it rejects and changes nothing", async () => {
    const { c, plain } = open();
    c.loseConnection();
    await expect(c.startTLS(SERVER)).rejects.toThrow(/^Cannot start TLS on the connection with 127\.0\.0\.1:5000: the connection is closing$/);
    c.closed();
    await expect(c.startTLS(SERVER)).rejects.toThrow(/: the connection is closed$/);
    expect(plain.calls).not.toContain("startTls");
  });

  test("a connection lost during the handshake rejects, and a late TLS socket is aborted", async () => {
    const { c, plain, p } = open();
    const started = c.startTLS(SERVER);
    c.closed(new Error("reset"));
    await expect(started).rejects.toThrow(/the connection closed during the TLS handshake$/);
    const tls = new ScriptedSocket();
    plain.upgrade!.resolve(tls);
    await flush();
    expect(tls.calls).toEqual(["abort"]);
    expect(p.reasons).toHaveLength(1);
  });

  test("an ignored rejection is no unhandled rejection: the failure reaches connectionLost", async () => {
    const { c, plain, p } = open();
    void c.startTLS(SERVER);
    plain.upgrade!.reject(new Error("boom"));
    await flush();
    expect(p.reasons.map((r) => r.message)).toEqual(["Cannot start TLS on the connection with 127.0.0.1:5000: boom"]);
  });

  test("a socket without startTls refuses with one line", async () => {
    const { startTls: _, ...plain } = new ScriptedSocket();
    const bare: Socket = { ...plain, pending: 0, write: (d) => d.length, pauseReading() {}, resumeReading() {}, shutdownWrite() {}, close() {}, abort() {} };
    const c = new ConnectionClass(bare, tcpAddress("127.0.0.1", 1), tcpAddress("127.0.0.1", 2));
    c.connect(new Protocol());
    await expect(c.startTLS(SERVER)).rejects.toThrow(/^Cannot start TLS on the connection with 127\.0\.0\.1:1: this adapter cannot upgrade a connection$/);
  });
});

class Smtpish extends LineReceiver {
  upgraded: Promise<void> | undefined;
  override lineReceived(line: Uint8Array): void {
    if (new TextDecoder().decode(line) !== "STARTTLS") return this.sendLine("500 What");
    this.sendLine("220 Ready");
    this.setRawMode();
    this.upgraded = (this.transport as Connection).startTLS(SERVER).then(() => this.transport.write("secret"));
  }
}

describe("a STARTTLS protocol on MemoryTransport", () => {
  test.each([1, 2, 3, 64])("answers in plaintext and upgrades, fed %i bytes at a time", async (size) => {
    const t = new MemoryTransport();
    const p = new Smtpish();
    t.connect(p);
    const input = new TextEncoder().encode("HELO\r\nSTARTTLS\r\n");
    for (let i = 0; i < input.length; i += size) t.receive(input.subarray(i, i + size));
    expect(t.tlsStarted).toBe(SERVER);
    await p.upgraded;
    expect(t.text()).toBe("500 What\r\n220 Ready\r\nsecret");
    expect(t.plaintextLength).toBe("500 What\r\n220 Ready\r\n".length);
  });
});
