/** What a soak run's samples say: the summary figures per pair, and whether memory plateaued. */

/** One reading of the server, `t` seconds after the soak started it. */
export interface SoakSample {
  t: number;
  /** Resident bytes. */
  rss: number;
  /** Open file descriptors. */
  fds: number;
  /** JavaScript heap in use, bytes, where the runtime reports it. */
  heapUsed?: number;
  /** The JavaScript heap's committed size, bytes. */
  heapTotal?: number;
  /** Memory outside the heap that the engine knows of (ArrayBuffer contents among it), bytes. */
  external?: number;
}

/** The summary of one pair's run. */
export interface SoakSummary {
  startMB: number;
  peakMB: number;
  endMB: number;
  /** Least-squares slope of RSS over the last half of the run, MB per minute. */
  slopeMBPerMin: number;
  /** Median RSS of the first and last third of the samples after the warm-up (NaN for too few). */
  firstThirdMB: number;
  middleThirdMB: number;
  lastThirdMB: number;
  /** lastThirdMB / firstThirdMB. */
  growth: number;
  /** lastThirdMB / middleThirdMB: whether memory still rose once the run was under way. */
  lateGrowth: number;
  peakHeapMB: number | null;
}

const MB = 1024 * 1024;
const round1 = (x: number) => Math.round(x * 10) / 10;

/** @returns The median of `xs` (NaN for none). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** @returns The least-squares slope of y over x (0 for fewer than two points). */
export function slope(points: readonly [x: number, y: number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Summarises one pair's samples.
 *
 * @param samples In time order.
 * @param warmup Seconds at the start left out of the plateau check.
 * @returns Figures in MB, rounded to 0.1.
 * @example
 * ```ts
 * const s = summarize([{ t: 0, rss: 1048576, fds: 5 }, { t: 1, rss: 2097152, fds: 5 }], 0);
 * console.log(s.peakMB); // 2
 * ```
 */
export function summarize(samples: readonly SoakSample[], warmup: number): SoakSummary {
  const rss = samples.map((s) => s.rss / MB);
  const end = samples.at(-1)?.t ?? 0;
  const lastHalf = samples.filter((s) => s.t >= end / 2).map((s): [number, number] => [s.t / 60, s.rss / MB]);
  const settled = samples.filter((s) => s.t >= warmup).map((s) => s.rss / MB);
  // Fewer than three samples after the warm-up say nothing of a plateau: NaN, not a verdict.
  const third = Math.floor(settled.length / 3);
  const first = third > 0 ? median(settled.slice(0, third)) : NaN;
  const middle = third > 0 ? median(settled.slice(third, settled.length - third)) : NaN;
  const last = third > 0 ? median(settled.slice(-third)) : NaN;
  const heaps = samples.flatMap((s) => (s.heapUsed === undefined ? [] : [s.heapUsed / MB]));
  return {
    startMB: round1(rss[0] ?? NaN),
    peakMB: round1(Math.max(...rss)),
    endMB: round1(rss.at(-1) ?? NaN),
    slopeMBPerMin: round1(slope(lastHalf)),
    firstThirdMB: round1(first),
    middleThirdMB: round1(middle),
    lastThirdMB: round1(last),
    growth: Math.round((last / first) * 100) / 100,
    lateGrowth: Math.round((last / middle) * 100) / 100,
    peakHeapMB: heaps.length ? round1(Math.max(...heaps)) : null,
  };
}

/**
 * Whether memory kept growing: the last third is more than `maxGrowth` above the first
 * and still more than half that above the middle third. A server that climbs to its level
 * slowly (Deno native on a busy machine, where the first third is still filling V8's young
 * generation) levels off between the middle and last thirds; a steady leak rises in both.
 *
 * @example
 * ```ts
 * console.log(keptGrowing({ growth: 1.49, lateGrowth: 1.03 } as SoakSummary, 0.25)); // false
 * ```
 */
export function keptGrowing(s: SoakSummary, maxGrowth: number): boolean {
  return s.growth > 1 + maxGrowth && s.lateGrowth > 1 + maxGrowth / 2;
}
