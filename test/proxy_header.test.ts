import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ProxyHeaderParser, type ProxyParseResult, V1_MAX_LENGTH } from "../src/mod.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

function parseAll(bytes: Uint8Array, v2Max?: number): ProxyParseResult {
  return new ProxyHeaderParser(v2Max).feed(bytes);
}

function v2(command: number, family: number, body: number[]): Uint8Array {
  return Uint8Array.from([...SIG, 0x20 | command, family, body.length >> 8, body.length & 0xff, ...body]);
}

const V4_BODY = [192, 168, 0, 1, 192, 168, 0, 11, 56324 >> 8, 56324 & 0xff, 443 >> 8, 443 & 0xff];
const V6_BODY = [
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  0xff, 0xff, 0x1f, 0x90,
];

// The longest IPv6 text there is (45 characters), and one of 36: with them a TCP6 line reaches 107 bytes.
const V6_45 = "0000:0000:0000:0000:0000:ffff:255.255.255.255";
const V6_36 = "ffff:ffff:ffff:ffff:ffff:fff:1.2.3.4";

/** Valid headers, each with what it must parse to (source, destination as host:port, or undefined). */
const VALID: [string, Uint8Array, string | undefined, string | undefined][] = [
  // The spec's own examples (section 2.1).
  ["v1 TCP4 example line", enc("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"), "192.168.0.1:56324", "192.168.0.11:443"],
  ["v1 TCP4 longest line", enc("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"), "255.255.255.255:65535", "255.255.255.255:65535"],
  [
    "v1 TCP6 longest line",
    enc(`PROXY TCP6 ${Array(8).fill("ffff").join(":")} ${Array(8).fill("FFFF").join(":")} 65535 65535\r\n`),
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:65535",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:65535",
  ],
  ["v1 UNKNOWN short form", enc("PROXY UNKNOWN\r\n"), undefined, undefined],
  [
    "v1 UNKNOWN worst case of 107 bytes",
    enc(`PROXY UNKNOWN ${Array(8).fill("ffff").join(":")} ${Array(8).fill("ffff").join(":")} 65535 65535\r\n`),
    undefined,
    undefined,
  ],
  // 45 + 36 characters of address: a real TCP6 line of exactly the limit, CRLF included.
  ["v1 TCP6 line of exactly 107 bytes", enc(`PROXY TCP6 ${V6_45} ${V6_36} 65535 65535\r\n`), "::ffff:255.255.255.255:65535", "ffff:ffff:ffff:ffff:ffff:fff:102:304:65535"],
  ["v1 TCP6 compressed", enc("PROXY TCP6 2001:DB8::1 ::1 0 8000\r\n"), "2001:db8::1:0", "::1:8000"],
  ["v2 PROXY TCP over IPv4", v2(1, 0x11, V4_BODY), "192.168.0.1:56324", "192.168.0.11:443"],
  ["v2 PROXY TCP over IPv6", v2(1, 0x21, V6_BODY), "2001:db8::1:65535", "::1:8080"],
  ["v2 LOCAL with no address", v2(0, 0x00, []), undefined, undefined],
  ["v2 LOCAL with an address block to skip", v2(0, 0x11, V4_BODY), undefined, undefined],
  // The spec: a receiver must accept LOCAL and discard the protocol block, family byte included.
  ["v2 LOCAL with an unknown family 0xF1", v2(0, 0xf1, V4_BODY), undefined, undefined],
  ["v2 LOCAL with an unknown family 0x41", v2(0, 0x41, []), undefined, undefined],
  ["v2 LOCAL with an unknown transport 0x13", v2(0, 0x13, V4_BODY), undefined, undefined],
  ["v2 LOCAL with an IPv6 family and a block too short for it", v2(0, 0x21, V4_BODY), undefined, undefined],
  ["v2 PROXY UNSPEC", v2(1, 0x00, []), undefined, undefined],
  ["v2 PROXY over UNIX falls back to the real endpoints", v2(1, 0x31, new Array(216).fill(0)), undefined, undefined],
  ["v2 PROXY TCP over IPv4 with TLVs", v2(1, 0x11, [...V4_BODY, 0x04, 0x00, 0x01, 0x00]), "192.168.0.1:56324", "192.168.0.11:443"],
];

const hostPort = (a: { host: string; port: number } | undefined) => (a === undefined ? undefined : `${a.host}:${a.port}`);

describe("valid headers, including the spec's examples", () => {
  test.each(VALID)("%s parses, and the bytes after it are left for the protocol", (_name, header, source, destination) => {
    const after = enc("GET / HTTP/1.0\r\n");
    const bytes = new Uint8Array(header.length + after.length);
    bytes.set(header);
    bytes.set(after, header.length);
    const r = parseAll(bytes);
    expect(r.status).toBe("done");
    if (r.status !== "done") return;
    expect(hostPort(r.header.source)).toBe(source);
    expect(hostPort(r.header.destination)).toBe(destination);
    expect(r.header.length).toBe(header.length);
    expect(r.header.command).toBe(header[12] === 0x20 ? "LOCAL" : "PROXY");
    expect(r.rest).toEqual(after);
  });

  test.each(VALID)("%s parses fed one byte at a time", (_name, header, source) => {
    const parser = new ProxyHeaderParser();
    for (let i = 0; i < header.length - 1; i++) expect(parser.feed(header.subarray(i, i + 1)).status).toBe("incomplete");
    const r = parser.feed(header.subarray(header.length - 1));
    expect(r.status).toBe("done");
    if (r.status === "done") expect(hostPort(r.header.source)).toBe(source);
  });

  test("the v1 UNKNOWN worst case and the long TCP6 line are exactly the 107-byte limit", () => {
    expect(VALID[4]![1].length).toBe(V1_MAX_LENGTH);
    expect(VALID.find(([name]) => name.includes("exactly 107"))![1].length).toBe(V1_MAX_LENGTH);
  });
});

const INVALID: [string, Uint8Array][] = [
  ["no header at all", enc("GET / HTTP/1.0\r\n")],
  ["a v1 line ended by LF alone", enc("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n")],
  ["a v1 line with CR not followed by LF", enc("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX")],
  ["a v1 line over 107 bytes", enc(`PROXY UNKNOWN ${"x".repeat(100)}\r\n`)],
  // Regression: a 108-byte line (CR at byte 107) was accepted.
  ["a v1 UNKNOWN line of 108 bytes, CRLF included", enc(`PROXY UNKNOWN ${"f".repeat(V1_MAX_LENGTH - 15)}\r\n`)],
  ["a v1 TCP6 line of 108 bytes, CRLF included", enc(`PROXY TCP6 ${V6_45} ${V6_36}0 65535 65535\r\n`)],
  ["a v1 IPv4 address with a leading zero", enc("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n")],
  ["a v1 IPv4 octet over 255", enc("PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n")],
  ["a v1 port with a leading zero", enc("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n")],
  ["a v1 port over 65535", enc("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n")],
  ["a v1 IPv6 address under TCP4", enc("PROXY TCP4 ::1 ::1 1 2\r\n")],
  ["a v1 IPv6 address with two ::", enc("PROXY TCP6 1::2::3 ::1 1 2\r\n")],
  ["a v1 IPv6 address of 9 groups", enc("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n")],
  ["a v1 line with two spaces", enc("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n")],
  ["a v1 line with a missing port", enc("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n")],
  ["a v1 unknown family", enc("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n")],
  ["lower-case proxy", enc("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n")],
  ["a v2 version 1 byte", Uint8Array.from([...SIG, 0x11, 0x11, 0, 12, ...V4_BODY])],
  ["a v2 command 2", Uint8Array.from([...SIG, 0x22, 0x11, 0, 12, ...V4_BODY])],
  ["a v2 family 4", v2(1, 0x41, V4_BODY)],
  ["a v2 transport 3", v2(1, 0x13, V4_BODY)],
  ["a v2 IPv4 block that is too short", v2(1, 0x11, V4_BODY.slice(0, 10))],
  ["a v2 IPv6 block that is too short", v2(1, 0x21, V4_BODY)],
  ["a broken v2 signature", Uint8Array.from([...SIG.slice(0, 11), 0x0b, 0x21, 0x11, 0, 12, ...V4_BODY])],
];

describe("invalid headers", () => {
  test.each(INVALID)("%s is invalid, with a one-line reason", (_name, bytes) => {
    const r = parseAll(bytes);
    expect(r.status).toBe("invalid");
    if (r.status === "invalid") expect(r.reason).toMatch(/^[^\n]+[^.]$/);
  });

  test("a v2 header over the length bound is invalid as soon as its length is read", () => {
    const header = v2(1, 0x11, [...V4_BODY, ...new Array(200).fill(0)]);
    const r = parseAll(header.subarray(0, 16), 128);
    expect(r.status).toBe("invalid");
  });

  test("an oversized v1 line is invalid once 106 bytes are read without CR, leaving no room for CRLF", () => {
    const parser = new ProxyHeaderParser();
    expect(parser.feed(enc(`PROXY UNKNOWN ${"f".repeat(V1_MAX_LENGTH - 16)}`)).status).toBe("incomplete");
    expect(parser.feed(enc("f")).status).toBe("invalid");
  });

  test("a v1 line of 108 bytes fed one byte at a time is invalid, at the latest at its 107th byte", () => {
    const line = enc(`PROXY UNKNOWN ${"f".repeat(V1_MAX_LENGTH - 15)}\r\n`);
    expect(line.length).toBe(V1_MAX_LENGTH + 1);
    const parser = new ProxyHeaderParser();
    const statuses = Array.from(line, (_, i) => parser.feed(line.subarray(i, i + 1)).status);
    expect(statuses.indexOf("invalid")).toBeGreaterThanOrEqual(0);
    expect(statuses.indexOf("invalid")).toBeLessThan(V1_MAX_LENGTH);
    expect(statuses).not.toContain("done");
  });

  test("a result stays once reached", () => {
    const parser = new ProxyHeaderParser();
    expect(parser.feed(enc("HELLO")).status).toBe("invalid");
    expect(parser.feed(enc("PROXY UNKNOWN\r\n")).status).toBe("invalid");
  });

  test("a v2 length bound out of range is a RangeError", () => {
    expect(() => new ProxyHeaderParser(15)).toThrow(RangeError);
    expect(() => new ProxyHeaderParser(70000)).toThrow(RangeError);
  });
});

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 });
const port = fc.nat(65535);

/** Any valid header twine understands, as bytes, with the source and destination it must give. */
const validHeader: fc.Arbitrary<{ bytes: Uint8Array; source?: string; destination?: string }> = fc.oneof(
  fc.tuple(ipv4, ipv4, port, port).map(([s, d, sp, dp]) => ({
    bytes: enc(`PROXY TCP4 ${s.join(".")} ${d.join(".")} ${sp} ${dp}\r\n`),
    source: `${s.join(".")}:${sp}`,
    destination: `${d.join(".")}:${dp}`,
  })),
  fc.tuple(ipv4, ipv4, port, port, fc.uint8Array({ maxLength: 40 })).map(([s, d, sp, dp, tlv]) => ({
    bytes: v2(1, 0x11, [...s, ...d, sp >> 8, sp & 0xff, dp >> 8, dp & 0xff, ...tlv]),
    source: `${s.join(".")}:${sp}`,
    destination: `${d.join(".")}:${dp}`,
  })),
  fc.tuple(ipv6, ipv6, port, port).map(([s, d, sp, dp]) => ({
    // Full, uncompressed groups in v1; both versions must agree on the text form.
    bytes: enc(`PROXY TCP6 ${s.map((g) => g.toString(16)).join(":")} ${d.map((g) => g.toString(16)).join(":")} ${sp} ${dp}\r\n`),
    v2: v2(1, 0x21, [...s.flatMap((g) => [g >> 8, g & 0xff]), ...d.flatMap((g) => [g >> 8, g & 0xff]), sp >> 8, sp & 0xff, dp >> 8, dp & 0xff]),
  })).map(({ bytes, v2: binary }) => {
    const r = parseAll(binary);
    if (r.status !== "done") throw new Error("v2 IPv6 header did not parse");
    return { bytes, source: hostPort(r.header.source), destination: hostPort(r.header.destination) };
  }),
  fc.tuple(fc.nat(255), fc.uint8Array({ maxLength: 30 })).map(([family, block]) => ({ bytes: v2(0, family, [...block]) })),
  fc.constant({ bytes: enc("PROXY UNKNOWN\r\n") }),
);

/** Split points of a byte string. */
function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}

describe("properties", () => {
  test("any split of a valid header followed by data parses to the same header and leaves the data", () => {
    fc.assert(
      fc.property(validHeader, fc.uint8Array({ maxLength: 50 }), fc.array(fc.nat(), { maxLength: 20 }), (h, after, cuts) => {
        const whole = new Uint8Array(h.bytes.length + after.length);
        whole.set(h.bytes);
        whole.set(after, h.bytes.length);
        const once = parseAll(whole);
        expect(once.status).toBe("done");
        if (once.status !== "done") return;
        expect(hostPort(once.header.source)).toBe(h.source);
        expect(hostPort(once.header.destination)).toBe(h.destination);
        const parser = new ProxyHeaderParser();
        let result: ProxyParseResult = { status: "incomplete" };
        const rest: number[] = [];
        for (const chunk of chunks(whole, cuts)) {
          if (result.status === "done") rest.push(...chunk);
          else {
            result = parser.feed(chunk);
            if (result.status === "done") rest.push(...result.rest);
          }
        }
        expect(result.status).toBe("done");
        if (result.status !== "done") return;
        expect(result.header).toEqual(once.header);
        expect(Uint8Array.from(rest)).toEqual(after);
      }),
    );
  });

  test("random bytes in any split never throw, and give the same verdict as in one piece", () => {
    const noisy = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 150 }).map((b) => Uint8Array.from([...enc("PROXY "), ...b])),
      fc.uint8Array({ maxLength: 150 }).map((b) => Uint8Array.from([...SIG, ...b])),
    );
    fc.assert(
      fc.property(noisy, fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const once = parseAll(bytes);
        const parser = new ProxyHeaderParser();
        let result: ProxyParseResult = { status: "incomplete" };
        for (const chunk of chunks(bytes, cuts)) result = parser.feed(chunk);
        expect(result.status).toBe(once.status);
      }),
    );
  });
});
