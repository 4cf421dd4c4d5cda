import fc from "fast-check";
import { expect, test } from "vitest";
import { EchoProtocol, MemoryTransport, Protocol, type Reason } from "../src/mod.ts";

/** One step of the peer or the protocol, applied to a connection in any order. */
type Step =
  | { kind: "send"; size: number }
  | { kind: "drain" }
  | { kind: "pause" }
  | { kind: "resume" };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("send" as const), size: fc.integer({ min: 1, max: 700 }) }),
  fc.constant({ kind: "drain" as const }),
  fc.constant({ kind: "pause" as const }),
  fc.constant({ kind: "resume" as const }),
);

class CountingEcho extends EchoProtocol {
  losses: Reason[] = [];
  override connectionLost(reason: Reason): void {
    this.losses.push(reason);
  }
}

test("any chunking, partial-write size and pause/resume sequence echoes the exact input once, in order", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 4000 }),
      fc.array(step, { maxLength: 60 }),
      fc.integer({ min: 1, max: 512 }),
      fc.integer({ min: 0, max: 2048 }),
      (input, steps, writeLimit, highWaterMark) => {
        const t = new MemoryTransport({ writeLimit, highWaterMark, lowWaterMark: Math.floor(highWaterMark / 4) });
        const p = new CountingEcho();
        t.connect(p);
        let sent = 0;
        for (const s of steps) {
          if (s.kind === "send" && sent < input.length) {
            // A paused transport is not read: the peer's bytes wait, as in the kernel's buffer.
            if (!t.reading) continue;
            t.receive(input.subarray(sent, sent + s.size));
            sent = Math.min(input.length, sent + s.size);
          } else if (s.kind === "drain") t.drain();
          else if (s.kind === "pause") t.pauseProducing();
          else if (s.kind === "resume") t.resumeProducing();
        }
        // The peer sends the rest, half-closes, and reads everything.
        t.resumeProducing();
        while (sent < input.length) {
          while (!t.reading) t.drain();
          t.receive(input.subarray(sent, sent + 333));
          sent += 333;
        }
        t.receiveEnd();
        for (let i = 0; i < 100_000 && !t.disconnected; i++) t.drain();
        expect(t.value()).toEqual(input);
        expect(p.losses).toHaveLength(1);
        expect(t.aborted).toBe(false);
      },
    ),
    { numRuns: 300 },
  );
});

test("connectionLost runs exactly once whatever the order of closes, resets and aborts", () => {
  const action = fc.constantFrom("lose", "abort", "reset", "end", "write", "drain");
  fc.assert(
    fc.property(fc.array(action, { minLength: 1, maxLength: 12 }), (actions) => {
      const losses: Reason[] = [];
      class P extends Protocol {
        override connectionLost(reason: Reason): void {
          losses.push(reason);
        }
      }
      const t = new MemoryTransport({ writeLimit: 3 });
      t.connect(new P());
      for (const a of actions) {
        if (a === "lose") t.loseConnection();
        else if (a === "abort") t.abortConnection();
        else if (a === "reset") t.reset();
        else if (a === "end") t.receiveEnd();
        else if (a === "write") t.write("abcdef");
        else t.drain();
      }
      t.abortConnection();
      expect(losses).toHaveLength(1);
    }),
    { numRuns: 500 },
  );
});
