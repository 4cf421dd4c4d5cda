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
   * Buckets kept at most; past it, full buckets are forgotten first (looked for at most
   * once per `burst / rate` seconds), then the least recently used.
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
 * bounded by `maxKeys` whatever the number of keys seen, and a `take` costs O(1)
 * amortised even when a flood of new keys keeps the buckets at that bound.
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
  // In order of last use, least recent first (a Map keeps insertion order, and take() re-inserts),
  // once at least half full.
  readonly #buckets = new Map<string, Bucket>();
  // Kept between evictions: a fresh keys() would step over every entry deleted at the
  // front since the table was last rebuilt, O(maxKeys) each time. A Map iterator is live,
  // so it goes on past deletions and sees keys (re-)inserted behind it.
  #order: Iterator<string> | undefined;
  #lastSweep = -Infinity;

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
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
      bucket.at = now;
      // Order matters only near the bound: below half of it, skip the re-insertion's cost. A
      // busy key is then moved behind the others long before the bound is reached.
      if (this.#buckets.size < this.maxKeys / 2) return this.#spend(bucket);
      this.#buckets.delete(key);
    }
    this.#buckets.set(key, bucket);
    return this.#spend(bucket);
  }

  #spend(bucket: Bucket): boolean {
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  // A full bucket is the same as no bucket, so forgetting those first changes nothing;
  // if none is full, forgetting the least recently used gives that key a fresh burst, which
  // is the price of bounded memory. Looking for full ones walks every bucket, so it is done
  // at most once per refill time: a flood of new keys (forged sources) with none full then
  // costs O(1) per key instead of a walk of maxKeys each. A bucket that fills between walks
  // may outlive a less recent one that is not full; memory stays bounded all the same.
  #evict(now: number): void {
    // A clock set back would otherwise hold off the next walk for as long.
    if (now >= this.#lastSweep + (this.burst / this.rate) * 1000 || now < this.#lastSweep) {
      this.#lastSweep = now;
      for (const [key, b] of this.#buckets) {
        if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.#buckets.delete(key);
      }
      if (this.#buckets.size < this.maxKeys) return;
    }
    let oldest = this.#order?.next();
    if (oldest === undefined || oldest.done === true) {
      // An iterator that reached the end stays done; start again from the least recent.
      this.#order = this.#buckets.keys();
      oldest = this.#order.next();
    }
    if (oldest.done !== true) this.#buckets.delete(oldest.value);
  }
}
