/** A peer driving a MemoryTransport through random steps, shared by the echo property tests. */
import fc from "fast-check";
import type { MemoryTransport } from "../../src/mod.ts";

/** Send that many bytes, let the socket take what it can, or pause or resume reading. */
export type PeerStep = number | "drain" | "pause" | "resume";

/** Any sequence of peer steps, sends of 1–700 bytes among them. */
export const peerSteps: fc.Arbitrary<PeerStep[]> = fc.array(
  fc.oneof(fc.integer({ min: 1, max: 700 }), fc.constantFrom("drain" as const, "pause" as const, "resume" as const)),
  { maxLength: 60 },
);

/**
 * Feeds `input` to the transport through `steps`, then sends the rest, half-closes and
 * drains until the connection is gone, as a peer that reads everything would. A step the
 * peer does not know is handed to `other`.
 */
export function drive<S>(t: MemoryTransport, input: Uint8Array, steps: readonly (PeerStep | S)[], other: (step: S) => void = () => {}): void {
  let sent = 0;
  for (const s of steps) {
    if (typeof s === "number") {
      // A paused transport is not read: the peer's bytes wait, as in the kernel's buffer.
      if (sent >= input.length || !t.reading) continue;
      t.receive(input.subarray(sent, sent + s));
      sent = Math.min(input.length, sent + s);
    } else if (s === "drain") t.drain();
    else if (s === "pause") t.pauseProducing();
    else if (s === "resume") t.resumeProducing();
    else other(s as S);
  }
  t.resumeProducing();
  while (sent < input.length) {
    while (!t.reading) t.drain();
    t.receive(input.subarray(sent, sent + 333));
    sent += 333;
  }
  t.receiveEnd();
  for (let i = 0; i < 100_000 && !t.disconnected; i++) t.drain();
}
