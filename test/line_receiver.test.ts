import { describe, expect, test } from "vitest";
import {
  ConnectionDone,
  FramingError,
  LineOnlyReceiver,
  LineReceiver,
  MemoryTransport,
  type Reason,
  TextLineReceiver,
} from "../src/mod.ts";
import { chunkSizes, feed } from "./helpers/chunks.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

class Lines extends LineReceiver {
  lines: string[] = [];
  raw: string[] = [];
  losses: Reason[] = [];
  override lineReceived(line: Uint8Array): void {
    this.lines.push(text(line));
  }
  override rawDataReceived(data: Uint8Array): void {
    this.raw.push(text(data));
  }
  override connectionLost(reason: Reason): void {
    this.losses.push(reason);
  }
}

function connect<P extends LineReceiver | TextLineReceiver | LineOnlyReceiver>(p: P): MemoryTransport {
  const t = new MemoryTransport();
  t.connect(p);
  return t;
}

// Overrides that keep the connection open past an over-long line, to see what comes after it.
class KeepOpen extends LineReceiver {
  override maxLength = 5;
  events: string[] = [];
  override lineReceived(line: Uint8Array): void {
    this.events.push(`line ${text(line)}`);
  }
  override lineLengthExceeded(line: Uint8Array): void {
    this.events.push(`exceeded ${text(line)}`);
  }
}

class KeepOpenOnly extends LineOnlyReceiver {
  override maxLength = 5;
  events: string[] = [];
  override lineReceived(line: Uint8Array): void {
    this.events.push(`line ${text(line)}`);
  }
  override lineLengthExceeded(line: Uint8Array): void {
    this.events.push(`exceeded ${text(line)}`);
  }
}

describe("LineReceiver", () => {
  test("splits lines on \\r\\n in every chunking down to one byte", () => {
    const stream = "hello\r\n\r\nworld\r\nrest";
    for (const size of chunkSizes(stream.length)) {
      const p = new Lines();
      feed(connect(p), stream, size);
      expect(p.lines, `chunks of ${size}`).toEqual(["hello", "", "world"]);
    }
  });

  test("splits on a custom delimiter, bytes or string, in every chunking", () => {
    for (const delimiter of ["\n", "||", new Uint8Array([0, 255, 0])]) {
      const d = typeof delimiter === "string" ? delimiter : text(delimiter);
      const stream = `a${d}bb${d}${d}ccc${d}`;
      for (const size of chunkSizes(stream.length)) {
        const p = new Lines();
        p.delimiter = delimiter;
        feed(connect(p), typeof delimiter === "string" ? stream : concatBytes(stream, delimiter), size);
        expect(p.lines).toEqual(["a", "bb", "", "ccc"]);
      }
    }
  });

  test("sendLine writes the line and the delimiter", () => {
    const p = new Lines();
    p.delimiter = "\n";
    const t = connect(p);
    p.sendLine("one");
    p.sendLine(new TextEncoder().encode("two"));
    expect(t.text()).toBe("one\ntwo\n");
  });

  test("setRawMode hands what follows the line to rawDataReceived, and setLineMode(rest) parses the rest", () => {
    class Header extends Lines {
      override lineReceived(line: Uint8Array): void {
        super.lineReceived(line);
        if (text(line) === "RAW") this.setRawMode();
      }
      override rawDataReceived(data: Uint8Array): void {
        const s = text(data);
        const end = s.indexOf("#");
        if (end === -1) {
          this.raw.push(s);
          return;
        }
        this.raw.push(s.slice(0, end));
        this.setLineMode(s.slice(end + 1));
      }
    }
    const stream = "a\r\nRAW\r\nxx\r\nyy#b\r\nc\r\n";
    for (const size of chunkSizes(stream.length)) {
      const p = new Header();
      feed(connect(p), stream, size);
      expect(p.lines).toEqual(["a", "RAW", "b", "c"]);
      expect(p.raw.join("")).toBe("xx\r\nyy");
    }
  });

  test("a line of exactly maxLength is delivered, in every chunking", () => {
    const stream = "x".repeat(10) + "\r\n";
    for (const size of chunkSizes(stream.length)) {
      const p = new Lines();
      p.maxLength = 10;
      const t = connect(p);
      feed(t, stream, size);
      expect(p.lines).toEqual(["x".repeat(10)]);
      expect(t.disconnecting).toBe(false);
    }
  });

  test("a line over maxLength closes the connection with a reason that says so, with or without its delimiter", () => {
    for (const stream of ["x".repeat(11) + "\r\nnext\r\n", "x".repeat(12)]) {
      for (const size of chunkSizes(stream.length)) {
        const p = new Lines();
        p.maxLength = 10;
        const t = connect(p);
        feed(t, stream, size);
        t.receiveEnd();
        expect(p.lines).toEqual([]);
        expect(t.writeShut).toBe(true);
        expect(p.losses).toHaveLength(1);
        expect(p.losses[0]).toBeInstanceOf(FramingError);
        expect(p.losses[0]!.message).toBe("Line too long: more than 10 bytes before the delimiter '\\x0d\\x0a'");
      }
    }
  });

  test("lines after one that closed the connection are not delivered", () => {
    class Quit extends Lines {
      override lineReceived(line: Uint8Array): void {
        super.lineReceived(line);
        if (text(line) === "QUIT") this.transport.loseConnection();
      }
    }
    const p = new Quit();
    connect(p).receive("a\r\nQUIT\r\nb\r\n");
    expect(p.lines).toEqual(["a", "QUIT"]);
  });

  test("pauseProducing holds lines until resumeProducing, and stops reading from the peer", () => {
    class Pauser extends Lines {
      override lineReceived(line: Uint8Array): void {
        super.lineReceived(line);
        if (text(line) === "pause") this.pauseProducing();
      }
    }
    const p = new Pauser();
    const t = connect(p);
    t.receive("a\r\npause\r\nb\r\nc\r\n");
    expect(p.lines).toEqual(["a", "pause"]);
    expect(t.reading).toBe(false);
    p.resumeProducing();
    expect(p.lines).toEqual(["a", "pause", "b", "c"]);
    expect(t.reading).toBe(true);
  });

  test("clearLineBuffer returns and drops what is held", () => {
    class Clearer extends Lines {
      cleared: string[] = [];
      override lineReceived(line: Uint8Array): void {
        super.lineReceived(line);
        this.cleared.push(text(this.clearLineBuffer()));
      }
    }
    const p = new Clearer();
    const t = connect(p);
    t.receive("one\r\ntwo\r\nthr");
    t.receive("ee\r\n");
    expect(p.lines).toEqual(["one", "ee"]);
    expect(p.cleared).toEqual(["two\r\nthr", ""]);
  });

  test("lines handed out stay intact after more data arrives", () => {
    class Keeper extends LineReceiver {
      kept: Uint8Array[] = [];
      override lineReceived(line: Uint8Array): void {
        this.kept.push(line);
      }
    }
    const p = new Keeper();
    const t = connect(p);
    feed(t, "ab\r\ncd\r\nef\r\n" + "g".repeat(1000) + "\r\nhi\r\n", 3);
    expect(p.kept.map(text)).toEqual(["ab", "cd", "ef", "g".repeat(1000), "hi"]);
  });

  test("a throwing lineReceived aborts only this connection and reaches connectionLost", () => {
    class Thrower extends Lines {
      override lineReceived(): void {
        throw new Error("boom");
      }
    }
    const p = new Thrower();
    const t = new MemoryTransport({ onError: () => {} });
    t.connect(p);
    expect(() => t.receive("x\r\n")).not.toThrow();
    expect(p.losses[0]!.message).toBe("Protocol raised boom");
  });
});

describe("TextLineReceiver", () => {
  class TextLines extends TextLineReceiver {
    lines: string[] = [];
    override lineReceived(line: string): void {
      this.lines.push(line);
    }
  }

  test("decodes multi-byte characters split across reads, in every chunking", () => {
    const stream = new TextEncoder().encode("é\r\n日本語 😀\r\nżółw\r\n");
    for (const size of chunkSizes(stream.length)) {
      const p = new TextLines();
      feed(connect(p), stream, size);
      expect(p.lines).toEqual(["é", "日本語 😀", "żółw"]);
    }
  });

  test("bytes that are not UTF-8 become U+FFFD without closing the connection", () => {
    const p = new TextLines();
    const t = connect(p);
    t.receive(Uint8Array.of(0x61, 0xff, 0x0d, 0x0a));
    expect(p.lines).toEqual(["a\uFFFD"]);
    expect(t.disconnecting).toBe(false);
  });

  test("a U+FEFF at the start of a line is kept, not stripped as a byte order mark, in every chunking", () => {
    const stream = new TextEncoder().encode("\uFEFFa\r\n\uFEFFb\r\n\uFEFF\r\n");
    for (const size of chunkSizes(stream.length)) {
      const p = new TextLines();
      feed(connect(p), stream, size);
      expect(p.lines).toEqual(["\uFEFFa", "\uFEFFb", "\uFEFF"]);
    }
  });

  test("a line cut in the middle of a character still ends in U+FFFD, not in an error", () => {
    const p = new TextLines();
    const t = connect(p);
    t.receive(Uint8Array.of(0x61, 0xc3, 0x0d, 0x0a, 0x62, 0x0d, 0x0a));
    expect(p.lines).toEqual(["a\uFFFD", "b"]);
    expect(t.disconnecting).toBe(false);
  });
});

describe("LineOnlyReceiver", () => {
  class OnlyLines extends LineOnlyReceiver {
    lines: string[] = [];
    losses: Reason[] = [];
    override lineReceived(line: Uint8Array): void {
      this.lines.push(text(line));
    }
    override connectionLost(reason: Reason): void {
      this.losses.push(reason);
    }
  }

  test("splits lines in every chunking and sends lines", () => {
    const stream = "a\r\n\r\nbcd\r\ne";
    for (const size of chunkSizes(stream.length)) {
      const p = new OnlyLines();
      const t = connect(p);
      feed(t, stream, size);
      p.sendLine("ok");
      expect(p.lines).toEqual(["a", "", "bcd"]);
      expect(t.text()).toBe("ok\r\n");
    }
  });

  test("a line over maxLength closes the connection with a reason that says so", () => {
    for (const stream of ["x".repeat(11) + "\r\n", "x".repeat(12)]) {
      for (const size of chunkSizes(stream.length)) {
        const p = new OnlyLines();
        p.maxLength = 10;
        const t = connect(p);
        feed(t, stream, size);
        t.receiveEnd();
        expect(p.lines).toEqual([]);
        expect(p.losses[0]).toBeInstanceOf(FramingError);
        expect(p.losses[0]!.message).toContain("Line too long: more than 10 bytes");
      }
    }
  });

  // Twisted's own LineOnlyReceiver reports the held bytes again and drops "ab" here; twine follows
  // its LineReceiver (and Twisted's), whose buffer starts afresh after an over-long line.
  test("a lineLengthExceeded that keeps the connection open does not make later delimiters be skipped, as LineReceiver", () => {
    const reads = ["1234567", "\r\nab\r\n", "x\r\n"];
    for (const make of [() => new KeepOpen(), () => new KeepOpenOnly()]) {
      for (const size of chunkSizes(7)) {
        const p = make();
        const t = connect(p);
        for (const read of reads) feed(t, read, size);
        expect(p.events).toEqual(["exceeded 1234567", "line ", "line ab", "line x"]);
        expect(t.disconnecting).toBe(false);
      }
    }
  });

  test("lines read with an over-long line that left the connection open are dropped at once, not delivered with the next read", () => {
    const cases = [
      { p: new KeepOpen(), exceeded: "1234567890\r\nab\r\ncd\r\n" },
      { p: new KeepOpenOnly(), exceeded: "1234567890" },
    ];
    for (const { p, exceeded } of cases) {
      const t = connect(p);
      t.receive("1234567890\r\nab\r\ncd\r\n");
      expect(p.events).toEqual([`exceeded ${exceeded}`]);
      t.receive("ef\r\n");
      expect(p.events).toEqual([`exceeded ${exceeded}`, "line ef"]);
    }
  });

  test("a clean close after whole lines is ConnectionDone", () => {
    const p = new OnlyLines();
    const t = connect(p);
    t.receive("a\r\n");
    t.receiveEnd();
    expect(p.losses[0]).toBeInstanceOf(ConnectionDone);
  });
});

function concatBytes(stream: string, delimiter: Uint8Array): Uint8Array {
  // Rebuild the stream with the real delimiter bytes (text() replaced 0xff with U+FFFD).
  const parts = stream.split(text(delimiter));
  const out: number[] = [];
  parts.forEach((part, i) => {
    out.push(...new TextEncoder().encode(part));
    if (i < parts.length - 1) out.push(...delimiter);
  });
  return Uint8Array.from(out);
}
