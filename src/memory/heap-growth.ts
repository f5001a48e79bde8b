// Bounds how far V8 lets the old generation grow past what survived its last full collection.
//
// With the memory store every stored entry lives on this heap. By default V8 sizes the next
// full collection's trigger at up to 4x the live heap when the process allocates fast, so during
// a flood the heap carries garbage up to several times the entries it holds: the benchmark saw
// RSS rise ~2 KB per held entry beyond its stored bytes, most of it garbage that a full
// collection would have freed (bench/heap-probe.ts: live heap ~280 B above the stored bytes
// per entry, heapUsed ~1.5 KB above). A growing factor of 1.25 keeps that garbage within a
// quarter of the live heap, which is what lets the byte cap (src/memory/fit.ts) budget per
// entry. The price is more frequent full collections while the heap grows (concurrent marking;
// the main-thread pauses were tens of ms at 200 MB); V8 still waits for its minimum step
// (several MB) between them, so a small steady heap is not collected more often.
//
// Held long-polls are the same case with either store: each lives seconds, long enough to be
// promoted, and thousands arrive per second (bench step 6: RSS near 1 GB for 17,700 held polls
// whose live heap was ~150 MB). Process-wide and idempotent; src/server.ts applies it at start.
import { setFlagsFromString } from 'node:v8';

/** Heap growth allowed past the live heap before the next full collection, in percent. */
export const HEAP_GROWING_PERCENT = 25;

let applied = false;

export function boundHeapGrowth(): boolean {
  if (applied) return true;
  try {
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    applied = true;
  } catch {
    // an embedder's V8 without the flag: keep its default
  }
  return applied;
}
