import { expect, test } from "vitest";
import { bootstrapMedian, median } from "../bench/stats.ts";
import { markdown, type Sample, summarize } from "../bench/report.ts";
import type { Target } from "../bench/targets.ts";

test("median of odd and even counts", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
});

test("a bootstrap interval of identical ratios has no width", () => {
  expect(bootstrapMedian([0.97, 0.97, 0.97, 0.97])).toEqual({ median: 0.97, low: 0.97, high: 0.97, n: 4 });
});

test("a bootstrap interval holds the median, narrows with more data and is the same on every run", () => {
  const noisy = Array.from({ length: 40 }, (_, i) => 1 + ((i * 37) % 21 - 10) / 100);
  const few = bootstrapMedian(noisy.slice(0, 8));
  const many = bootstrapMedian(noisy);
  expect(many.low).toBeLessThanOrEqual(many.median);
  expect(many.high).toBeGreaterThanOrEqual(many.median);
  expect(many.high - many.low).toBeLessThan(few.high - few.low);
  expect(bootstrapMedian(noisy)).toEqual(many);
});

test("no values give no interval", () => {
  expect(bootstrapMedian([]).n).toBe(0);
  expect(bootstrapMedian([]).median).toBeNaN();
});

test("a run of the udp scenario alone prints only the UDP table", () => {
  const target = { name: "node", kind: "twine" } as Target;
  const samples: Sample[] = [
    { target: "node", runtime: "node", kind: "twine", scenario: "udp", rep: 0, metrics: { msgPerSec: 1000, lossPct: 0 }, errors: [] },
  ];
  const text = markdown(summarize(samples), [target], samples, 64);
  expect(text).toContain("### UDP request/response");
  expect(text).not.toContain("### Speed");
  expect(text).toContain("| node | 1,000");
});
