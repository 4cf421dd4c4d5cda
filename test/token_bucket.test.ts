import { expect, test } from "vitest";
import { TokenBuckets } from "../src/mod.ts";

const source = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

test("a flood of new sources with no bucket full costs O(1) each, not a walk of every bucket (forged-source DoS)", () => {
  // Regression: each new key past maxKeys walked all 10,000 buckets looking for a full one,
  // so 100,000 forged sources at rate 1 took 9e8 steps (seconds); now it is milliseconds.
  const now = 0; // the clock stands still, so no bucket ever refills to full
  const b = new TokenBuckets({ rate: 1, now: () => now });
  let taken = 0;
  const started = performance.now();
  for (let i = 0; i < 100_000; i++) if (b.take(source(i))) taken++;
  const elapsed = performance.now() - started;
  expect(taken).toBe(100_000);
  expect(b.size).toBe(10_000);
  // Far from noise both ways: tens of milliseconds on a loaded machine, against seconds before.
  expect(elapsed).toBeLessThan(1000);
});

test("a busy source stays limited while a flood of new sources churns the other buckets", () => {
  let now = 0;
  const b = new TokenBuckets({ rate: 1, burst: 1, maxKeys: 100, now: () => now });
  expect(b.take("busy")).toBe(true);
  let extra = 0;
  for (let i = 0; i < 5000; i++) {
    b.take(source(i));
    // Each source used most recently is forgotten last: "busy" keeps its empty bucket.
    if (b.take("busy")) extra++;
    if (i % 100 === 0) now += 1; // a millisecond now and then: far from a token at 1 per second
  }
  expect(extra).toBe(0);
  expect(b.size).toBeLessThanOrEqual(100);
  now += 1000;
  expect([b.take("busy"), b.take("busy")]).toEqual([true, false]);
});

test("full buckets are still forgotten before one in use, once a refill time has passed", () => {
  let now = 0;
  const b = new TokenBuckets({ rate: 10, burst: 10, maxKeys: 100, now: () => now });
  for (let t = 0; t < 10; t++) b.take("busy"); // empty
  for (let i = 0; i < 99; i++) b.take(source(i));
  now += 1000; // every bucket is full again, "busy" too, so it alone is kept
  for (let t = 0; t < 10; t++) b.take("busy");
  for (let i = 100; i < 150; i++) b.take(source(i));
  expect(b.size).toBe(51);
  expect(b.take("busy")).toBe(false); // still the same, empty bucket: not forgotten for a fresh burst
});
