/** Options of {@link TokenBuckets}. */
export interface TokenBucketOptions {
  /** Tokens added per second to each bucket. */
  rate: number;
  /**
   * The most tokens a bucket holds: how many may be taken at once after a quiet spell.
   * @default rate
   */
  burst?: number;
  /**
   * Buckets kept at most; past it, full buckets are forgotten first, then the oldest.
   * @default 10000
   */
  maxKeys?: number;
  /**
   * The clock, in milliseconds; tests pass a fake one.
   * @default Date.now
   */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One token bucket per key (a source address), as a rate limit: each bucket fills at
 * `rate` tokens per second up to `burst`, and each `take` spends one. Memory is
 * bounded by `maxKeys` whatever the number of keys seen.
 *
 * @example
 * ```ts
 * import { TokenBuckets } from "./token_bucket.ts";
 * let now = 0;
 * const buckets = new TokenBuckets({ rate: 2, now: () => now });
 * [buckets.take("a"), buckets.take("a"), buckets.take("a")]; // [true, true, false]
 * now = 500;
 * buckets.take("a"); // true: one token came back in half a second
 * ```
 */
export class TokenBuckets {
  readonly rate: number;
  readonly burst: number;
  readonly maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /**
   * @param options Rate, burst, bound and clock.
   * @throws {RangeError} If rate, burst or maxKeys is not a positive number.
   */
  constructor(options: TokenBucketOptions) {
    this.rate = options.rate;
    this.burst = options.burst ?? options.rate;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.#now = options.now ?? Date.now;
    for (const [name, value] of [["rate", this.rate], ["burst", this.burst], ["maxKeys", this.maxKeys]] as const) {
      if (!(typeof value === "number" && value > 0)) {
        throw new RangeError(`Cannot limit the rate with ${name} ${String(value)}: must be a positive number`);
      }
    }
  }

  /** How many keys have a bucket. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Spends one token of `key`'s bucket.
   *
   * @param key e.g. the sender's address.
   * @returns Whether a token was there: `false` means over the rate.
   */
  take(key: string): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.maxKeys) this.#evict(now);
      bucket = { tokens: this.burst, at: now };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  // A full bucket is the same as no bucket, so forgetting those first changes nothing;
  // if all are in use, forgetting the oldest gives that key a fresh burst, which is the
  // price of bounded memory.
  #evict(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.#buckets.delete(key);
    }
    if (this.#buckets.size < this.maxKeys) return;
    const oldest = this.#buckets.keys().next();
    if (!oldest.done) this.#buckets.delete(oldest.value);
  }
}
