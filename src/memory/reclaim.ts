// Gives memory back to the operating system after a large expiry.
//
// After a flood of requests nobody claimed expires, the heap is mostly empty but V8 keeps its
// pages until its idle-time memory reducer happens to run, which the benchmark saw take more
// than 90 s (RSS stayed 7× the starting figure with nothing held). A relay in a pod with a memory
// limit should not sit on that. So when a sweep has removed many entries, the relay asks V8 for
// one full, compacting collection: with little left alive, the mark phase is short, and the
// emptied pages are released. Rate-limited; ordinary traffic never triggers it.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Entries removed by one burst of expiries that make a reclaim worthwhile. */
export const RECLAIM_AFTER_EXPIRED = 10_000;
/** At most one reclaim in this long. */
export const RECLAIM_MIN_INTERVAL_MS = 30_000;

let collect: (() => void) | null | undefined;

function fullCollection(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    const exposed = globalThis.gc;
    if (typeof exposed === 'function') {
      collect = () => exposed();
    } else {
      // --expose-gc set at run time takes effect for new contexts; the function it exposes
      // collects the whole isolate.
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
  } catch {
    collect = null;
  }
  return collect;
}

/**
 * One sweep's count of a burst of expiries. Each sweep (one per protocol) keeps its own: the
 * sweeps interleave, and the other protocol's empty sweep must not end this one's burst (with
 * one shared count, every legacy sweep's expiries were reset by the v1 sweep after it, and a
 * flood expiring at a few thousand entries per sweep was never reclaimed).
 */
export interface ExpiryBurst {
  /**
   * Call after every sweep with the number of entries it removed. A burst of expiries counts up;
   * the first sweep that removes nothing ends it, and a burst of at least RECLAIM_AFTER_EXPIRED
   * entries is then followed by one full collection (at most one per RECLAIM_MIN_INTERVAL_MS
   * for the whole process). Returns the size of the burst it reclaimed after, or 0.
   */
  afterSweep(removed: number, nowMs?: number): number;
}

export class MemoryReclaimer {
  #lastReclaimAt = 0;
  readonly #default = this.burst();

  /** A burst counter for one sweep; the rate limit of the collections is shared. */
  burst(): ExpiryBurst {
    let expiredInBurst = 0;
    return {
      afterSweep: (removed, nowMs = Date.now()) => {
        if (removed > 0) {
          expiredInBurst += removed;
          return 0;
        }
        const burst = expiredInBurst;
        if (burst < RECLAIM_AFTER_EXPIRED) {
          expiredInBurst = 0; // a trickle, not a burst: never adds up over time
          return 0;
        }
        // Too soon after the last one: keep the count, so the burst is reclaimed once allowed.
        if (nowMs - this.#lastReclaimAt < RECLAIM_MIN_INTERVAL_MS) return 0;
        expiredInBurst = 0;
        const gc = fullCollection();
        if (gc === null) return 0;
        this.#lastReclaimAt = nowMs;
        gc();
        return burst;
      },
    };
  }

  /** afterSweep of a single sweep's burst (ExpiryBurst.afterSweep). */
  afterSweep(removed: number, nowMs: number = Date.now()): number {
    return this.#default.afterSweep(removed, nowMs);
  }
}
