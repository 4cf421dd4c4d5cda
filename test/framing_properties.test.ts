import fc from "fast-check";
import { expect, test } from "vitest";
import {
  formatNetstring,
  Int16StringReceiver,
  Int32StringReceiver,
  Int8StringReceiver,
  LineOnlyReceiver,
  LineReceiver,
  MemoryTransport,
  NetstringReceiver,
  type Protocol,
  TextLineReceiver,
} from "../src/mod.ts";
import { feedAt } from "./helpers/chunks.ts";

const encoder = new TextEncoder();
const cuts = fc.array(fc.nat({ max: 5000 }), { maxLength: 80 });

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feeds `stream` split at `splits` to `p` and returns what it delivered, and whether it stayed open. */
function deliver<T>(p: Protocol & { got: T[] }, stream: Uint8Array, splits: number[]): { got: T[]; open: boolean } {
  const t = new MemoryTransport();
  t.connect(p);
  feedAt(t, stream, splits);
  return { got: p.got, open: !t.disconnecting };
}

const delimiters = fc.constantFrom("\r\n", "\n", "\0", "||", "abc");

test("any chunking of any stream of lines gives the same lines (LineReceiver, LineOnlyReceiver)", () => {
  fc.assert(
    fc.property(delimiters, fc.array(fc.string({ maxLength: 40 }), { maxLength: 30 }), cuts, (delimiter, raw, splits) => {
      // Lines cannot contain their delimiter; "abc" also must not straddle a line end, so drop its letters.
      const lines = raw.map((l) => l.split(delimiter).join("").replace(/[abc]/g, "").replace(/\|+$/, ""));
      const stream = encoder.encode(lines.map((l) => l + delimiter).join(""));
      class L extends LineReceiver {
        got: string[] = [];
        override delimiter = delimiter;
        override lineReceived(line: Uint8Array): void {
          this.got.push(new TextDecoder().decode(line));
        }
      }
      class O extends LineOnlyReceiver {
        got: string[] = [];
        override delimiter = delimiter;
        override lineReceived(line: Uint8Array): void {
          this.got.push(new TextDecoder().decode(line));
        }
      }
      expect(deliver(new L(), stream, splits)).toEqual({ got: lines, open: true });
      expect(deliver(new O(), stream, splits)).toEqual({ got: lines, open: true });
    }),
    { numRuns: 500 },
  );
});

test("changing the delimiter between chunks splits what is held on the new one, as Twisted's (LineReceiver, LineOnlyReceiver)", () => {
  // Twisted's model: each dataReceived adds to the buffer and splits all of it on the delimiter of the moment.
  const reference = (steps: [string, string][]): string[] => {
    const out: string[] = [];
    let held = "";
    for (const [delimiter, data] of steps) {
      const parts = (held + data).split(delimiter);
      held = parts.pop()!;
      out.push(...parts);
    }
    return out;
  };
  const step = fc.tuple(
    fc.constantFrom("\r\n", "\n", "\r", "b\r\n", "||", "ab"),
    fc.string({ unit: fc.constantFrom("a", "b", "\r", "\n", "|", "x"), minLength: 1, maxLength: 12 }),
  );
  class L extends LineReceiver {
    got: string[] = [];
    override lineReceived(line: Uint8Array): void {
      this.got.push(new TextDecoder().decode(line));
    }
  }
  class O extends LineOnlyReceiver {
    got: string[] = [];
    override lineReceived(line: Uint8Array): void {
      this.got.push(new TextDecoder().decode(line));
    }
  }
  fc.assert(
    fc.property(fc.array(step, { maxLength: 20 }), (steps) => {
      for (const p of [new L(), new O()]) {
        const t = new MemoryTransport();
        t.connect(p);
        for (const [delimiter, data] of steps) {
          p.delimiter = delimiter;
          t.receive(encoder.encode(data));
        }
        expect([p.constructor.name, p.got]).toEqual([p.constructor.name, reference(steps)]);
      }
    }),
    // The audit's case: "ab\r" held while searching for \r\n, then b\r\n ends the line "a".
    { numRuns: 1000, examples: [[[["\r\n", "ab\r"], ["b\r\n", "\nrest"]]]] },
  );
});

test("any chunking of any UTF-8 text gives the same lines as text (TextLineReceiver)", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 20 }), { maxLength: 20 }), cuts, (raw, splits) => {
      const lines = raw.map((l) => l.replace(/\n/g, ""));
      const stream = encoder.encode(lines.map((l) => l + "\n").join(""));
      class T extends TextLineReceiver {
        got: string[] = [];
        override delimiter = "\n";
        override lineReceived(line: string): void {
          this.got.push(line);
        }
      }
      expect(deliver(new T(), stream, splits)).toEqual({ got: lines, open: true });
    }),
    { numRuns: 500 },
  );
});

test("raw mode switches at the same byte whatever the chunking", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.stringMatching(/^[a-z]{0,8}$/), { maxLength: 5 }), cuts, (body, after, splits) => {
      // A header line announces a raw body of known length, then lines follow.
      const stream = concat([encoder.encode(`LEN ${body.length}\r\n`), body, encoder.encode(after.map((l) => l + "\r\n").join(""))]);
      class H extends LineReceiver {
        got: string[] = [];
        raw: Uint8Array[] = [];
        left = 0;
        override lineReceived(line: Uint8Array): void {
          const s = new TextDecoder().decode(line);
          this.got.push(s);
          if (s.startsWith("LEN ")) {
            this.left = Number(s.slice(4));
            if (this.left > 0) this.setRawMode();
          }
        }
        override rawDataReceived(data: Uint8Array): void {
          const take = Math.min(this.left, data.length);
          this.raw.push(data.slice(0, take));
          this.left -= take;
          if (this.left === 0) this.setLineMode(data.subarray(take));
        }
      }
      const p = new H();
      const result = deliver(p, stream, splits);
      expect(result.got).toEqual([`LEN ${body.length}`, ...after]);
      expect(concat(p.raw)).toEqual(body);
    }),
    { numRuns: 500 },
  );
});

test("any chunking of any netstring or length-prefixed stream gives the same messages", () => {
  const kinds = [
    ["netstring", NetstringReceiver, (m: Uint8Array) => formatNetstring(m)],
    ["int32", Int32StringReceiver, (m: Uint8Array) => concat([Uint8Array.of(0, 0, m.length >> 8, m.length & 255), m])],
    ["int16", Int16StringReceiver, (m: Uint8Array) => concat([Uint8Array.of(m.length >> 8, m.length & 255), m])],
    ["int8", Int8StringReceiver, (m: Uint8Array) => concat([Uint8Array.of(m.length), m])],
  ] as const;
  fc.assert(
    fc.property(fc.constantFrom(...kinds), fc.array(fc.uint8Array({ maxLength: 255 }), { maxLength: 20 }), cuts, ([, base, frame], messages, splits) => {
      const stream = concat(messages.map(frame));
      const Base = base as typeof NetstringReceiver;
      class R extends Base {
        got: Uint8Array[] = [];
        override stringReceived(data: Uint8Array): void {
          this.got.push(data);
        }
      }
      expect(deliver(new R(), stream, splits)).toEqual({ got: messages, open: true });
    }),
    { numRuns: 500 },
  );
});

test("garbage never throws past a framing receiver, and a closed connection delivers nothing more", () => {
  const bases = [NetstringReceiver, Int32StringReceiver, Int16StringReceiver, Int8StringReceiver, LineReceiver, LineOnlyReceiver];
  fc.assert(
    fc.property(fc.constantFrom(...bases), fc.uint8Array({ maxLength: 2000 }), cuts, (base, stream, splits) => {
      const errors: unknown[] = [];
      const t = new MemoryTransport({ onError: (e) => errors.push(e) });
      const p = new (base as typeof LineReceiver)();
      p.maxLength = 50;
      t.connect(p);
      expect(() => feedAt(t, stream, splits)).not.toThrow();
      t.receiveEnd();
      expect(errors).toEqual([]);
      expect(t.disconnecting).toBe(true);
    }),
    { numRuns: 500 },
  );
});
