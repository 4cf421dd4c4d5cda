import fc from "fast-check";
import { expect, test } from "vitest";
import { EchoProtocol, MemoryTransport, Protocol, type Reason } from "../src/mod.ts";
import { drive, peerSteps } from "./helpers/peer_steps.ts";

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
      peerSteps,
      fc.integer({ min: 1, max: 512 }),
      fc.integer({ min: 0, max: 2048 }),
      (input, steps, writeLimit, highWaterMark) => {
        const t = new MemoryTransport({ writeLimit, highWaterMark, lowWaterMark: Math.floor(highWaterMark / 4) });
        const p = new CountingEcho();
        t.connect(p);
        drive(t, input, steps);
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
