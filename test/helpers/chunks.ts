import type { MemoryTransport } from "../../src/mod.ts";

const encoder = new TextEncoder();

/** Every fixed chunk size from 1 byte to the whole stream, for "every chunking" tests. */
export function* chunkSizes(length: number): Generator<number> {
  for (let size = 1; size <= Math.max(1, length); size++) yield size;
}

/** Feeds `stream` to `t` in chunks of `size` bytes, each a fresh array as an adapter hands out. */
export function feed(t: MemoryTransport, stream: Uint8Array | string, size: number): void {
  const bytes = typeof stream === "string" ? encoder.encode(stream) : stream;
  for (let i = 0; i < bytes.length; i += size) t.receive(bytes.slice(i, i + size));
}

/** Feeds `stream` to `t` split at `cuts` (offsets, any order, duplicates allowed). */
export function feedAt(t: MemoryTransport, stream: Uint8Array, cuts: number[]): void {
  const points = [...new Set(cuts.map((c) => Math.min(c, stream.length)))].sort((a, b) => a - b);
  let from = 0;
  for (const at of [...points, stream.length]) {
    if (at > from) t.receive(stream.slice(from, at));
    from = at;
  }
}
