/**
 * Paired measurement with as many pairs as the machine's noise needs: each pair measures side
 * A and side B, alternating which goes first (A B, B A, A B …), and gives one ratio per
 * figure; pairs are added until the 95% interval of every figure that counts lies within
 * ±`within` of its median, or the cap is reached.
 *
 * @module
 */
import { bootstrapMedian, type Interval, median, relativeHalfWidth } from "./stats.ts";

/** One figure each measurement yields, and how the two sides' values are compared. */
export interface FigureSpec {
  name: string;
  /** Whether the run goes on adding pairs until this figure's interval is narrow enough. */
  converge: boolean;
  /** Also report A − B with its interval (start-up milliseconds, KiB per connection). */
  difference?: boolean;
}

/** How many pairs, and how narrow the intervals must get. */
export interface PairingOptions {
  /** Pairs before the first look at the intervals. */
  minPairs: number;
  /** Pairs at most, starved ones included. */
  maxPairs: number;
  /** The half-width every converging interval must be within, as a fraction of its median (0.05: ±5%). */
  within: number;
}

/** What both sides gave for one figure. */
export interface PairedFigure {
  /** A over B, one per pair. */
  ratios: number[];
  ratio: Interval;
  /** A − B, one per pair, where the figure asks for it. */
  differences?: number[];
  difference?: Interval;
  /** Each side's values, in the order measured. */
  a: number[];
  b: number[];
}

/** The outcome of a paired measurement. */
export interface PairedResult {
  /** Pairs that gave ratios. */
  pairs: number;
  /** Pairs dropped because a side measured nothing (a slice in which nothing was echoed). */
  starved: number;
  /** The converging figures whose interval is wider than the bound at the end. */
  wide: string[];
  /** Whether the run stopped because every converging interval was within the bound. */
  converged: boolean;
  figures: Record<string, PairedFigure>;
}

/** One measurement's figures, or undefined when it measured nothing. */
export type Figures = Record<string, number> | undefined;

/** Measures both sides once, `first` first (or first in turn), for pair number `pair` (from 1). */
export type MeasurePair = (first: "a" | "b", pair: number) => Promise<{ a: Figures; b: Figures }>;

/**
 * A pair measurement made of two measurements of one side each, one after the other.
 *
 * @param measure Measures one side.
 * @returns The pair measurement.
 */
export function oneAfterTheOther(measure: (side: "a" | "b", pair: number) => Promise<Figures>): MeasurePair {
  return async (first, pair) => {
    const got = { a: undefined as Figures, b: undefined as Figures };
    for (const side of first === "a" ? (["a", "b"] as const) : (["b", "a"] as const)) got[side] = await measure(side, pair);
    return got;
  };
}

/**
 * The figures of `specs` whose interval over `values` is wider than `within`.
 *
 * @param specs The figures.
 * @param ratios Each figure's ratios so far.
 * @param within The bound, as a fraction.
 * @returns Their names.
 */
export function wideFigures(specs: readonly FigureSpec[], ratios: Record<string, number[]>, within: number): string[] {
  return specs.filter((s) => s.converge && !(relativeHalfWidth(bootstrapMedian(ratios[s.name] ?? [])) <= within)).map((s) => s.name);
}

/**
 * Measures A and B in alternating pairs until every converging figure's interval is within
 * the bound (looked at after each pair from `minPairs` on) or `maxPairs` have been tried.
 *
 * @param measure Measures both sides once.
 * @param specs The figures each measurement gives.
 * @param o How many pairs and how narrow.
 * @param progress Called before each pair, with its number from 1.
 * @returns Every figure's ratios and intervals, and which did not converge.
 */
export async function measurePaired(
  measure: MeasurePair,
  specs: readonly FigureSpec[],
  o: PairingOptions,
  progress: (pair: number) => void = () => {},
): Promise<PairedResult> {
  const values = { a: new Map<string, number[]>(), b: new Map<string, number[]>() };
  const ratios: Record<string, number[]> = {};
  const differences: Record<string, number[]> = {};
  for (const s of specs) {
    values.a.set(s.name, []);
    values.b.set(s.name, []);
    ratios[s.name] = [];
    differences[s.name] = [];
  }
  let pairs = 0;
  let starved = 0;
  let converged = false;
  for (let tried = 0; tried < o.maxPairs; tried++) {
    progress(tried + 1);
    // A B, then B A: whatever the first measurement of a pair gains or loses falls on each side alike.
    const { a, b } = await measure(tried % 2 === 0 ? "a" : "b", tried + 1);
    if (a === undefined || b === undefined) {
      starved++;
      continue;
    }
    pairs++;
    for (const s of specs) {
      const x = a[s.name];
      const y = b[s.name];
      // A figure a measurement could not give (no latency samples, CPU unreadable) gives no ratio.
      if (x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y)) continue;
      values.a.get(s.name)!.push(x);
      values.b.get(s.name)!.push(y);
      if (y !== 0) ratios[s.name]!.push(x / y);
      differences[s.name]!.push(x - y);
    }
    if (pairs >= o.minPairs && wideFigures(specs, ratios, o.within).length === 0) {
      converged = true;
      break;
    }
  }
  const wide = converged ? [] : wideFigures(specs, ratios, o.within);
  const figures: Record<string, PairedFigure> = {};
  for (const s of specs) {
    figures[s.name] = {
      ratios: ratios[s.name]!,
      ratio: bootstrapMedian(ratios[s.name]!),
      ...(s.difference ? { differences: differences[s.name]!, difference: bootstrapMedian(differences[s.name]!) } : {}),
      a: values.a.get(s.name)!,
      b: values.b.get(s.name)!,
    };
  }
  return { pairs, starved, wide, converged, figures };
}

/**
 * The median of one side's values of a figure.
 *
 * @param f The figure.
 * @param side a or b.
 * @returns The median, NaN without values.
 */
export function sideMedian(f: PairedFigure | undefined, side: "a" | "b"): number {
  return f === undefined || f[side].length === 0 ? NaN : median(f[side]);
}
