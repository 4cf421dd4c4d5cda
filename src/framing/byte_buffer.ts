/**
 * Bytes received but not yet framed, for the framing receivers. Views handed out
 * by `take` stay valid: the buffer only ever writes past what it has handed out,
 * and grows into a new array rather than moving bytes within one.
 */
export class ByteBuffer {
  #bytes: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  // Whether #bytes is an array this buffer allocated (a chunk adopted from the
  // transport may be a view into a shared slab, so nothing is written past it).
  #owned = false;

  /** Bytes held. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** @returns The bytes held, as a view. */
  view(): Uint8Array {
    return this.#bytes.subarray(this.#start, this.#end);
  }

  /** @param data Bytes to add; adopted without copying when the buffer is empty. */
  append(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.#start === this.#end) {
      this.#bytes = data;
      this.#start = 0;
      this.#end = data.length;
      this.#owned = false;
      return;
    }
    if (this.#owned && this.#end + data.length <= this.#bytes.length) {
      this.#bytes.set(data, this.#end);
      this.#end += data.length;
      return;
    }
    const held = this.length;
    const grown = new Uint8Array(Math.max(2 * (held + data.length), 256));
    grown.set(this.#bytes.subarray(this.#start, this.#end));
    grown.set(data, held);
    this.#bytes = grown;
    this.#start = 0;
    this.#end = held + data.length;
    this.#owned = true;
  }

  /**
   * Removes the first `n` bytes.
   *
   * @param n How many.
   * @returns A view of them, which stays valid.
   */
  take(n: number): Uint8Array {
    const out = this.#bytes.subarray(this.#start, this.#start + n);
    this.#start += out.length;
    if (this.#start === this.#end) this.clear();
    return out;
  }

  /** @returns Everything held, removed from the buffer. */
  takeAll(): Uint8Array {
    return this.take(this.length);
  }

  /** Forgets everything held. */
  clear(): void {
    this.#bytes = new Uint8Array(0);
    this.#start = 0;
    this.#end = 0;
    this.#owned = false;
  }
}

/**
 * Finds `needle` in `haystack` from `from`.
 *
 * @param haystack Where to look.
 * @param needle What to find; not empty.
 * @param from The first index to try.
 * @returns The index of the first match, or -1.
 */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  const last = haystack.length - needle.length;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}
