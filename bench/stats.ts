/** Medians and bootstrap confidence intervals for the paired cost measurement. */

/** The median of `values` (which it does not reorder). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A small seeded generator (mulberry32), so that the same ratios always give the same interval. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A median with its confidence interval. */
export interface Interval {
  median: number;
  low: number;
  high: number;
  n: number;
}

/**
 * The median of `values` with a percentile-bootstrap confidence interval: resample
 * with replacement, take each resample's median, and read the interval off their
 * distribution. It assumes nothing about how the values are distributed, which
 * matters for ratios on a noisy machine, whose tails are long.
 *
 * @param values One value per pair of neighbouring slices.
 * @param level The confidence level.
 * @param resamples How many resamples.
 * @returns The median and the interval, or NaN for all three without values.
 */
export function bootstrapMedian(values: readonly number[], level = 0.95, resamples = 10_000): Interval {
  const n = values.length;
  if (n === 0) return { median: NaN, low: NaN, high: NaN, n };
  const next = random(0x7477696e);
  const medians = new Float64Array(resamples);
  // Typed arrays sort numerically and fast: the adaptive cost run bootstraps after every pair.
  const sample = new Float64Array(n);
  const mid = n >> 1;
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = values[Math.floor(next() * n)]!;
    sample.sort();
    medians[r] = n % 2 ? sample[mid]! : (sample[mid - 1]! + sample[mid]!) / 2;
  }
  medians.sort();
  const tail = (1 - level) / 2;
  return {
    median: median(values),
    low: medians[Math.floor(tail * (resamples - 1))]!,
    high: medians[Math.ceil((1 - tail) * (resamples - 1))]!,
    n,
  };
}

/**
 * How far an interval reaches from its median, as a fraction of it: 0.05 for an interval
 * within ±5%. The larger of the two sides, since a bootstrap interval need not be symmetric.
 *
 * @param i A median with its interval.
 * @returns The relative half-width, or Infinity without values or around a median of 0.
 */
export function relativeHalfWidth(i: Interval): number {
  if (!(i.n > 0) || i.median === 0 || !Number.isFinite(i.median)) return Infinity;
  return Math.max(i.high / i.median - 1, 1 - i.low / i.median);
}
