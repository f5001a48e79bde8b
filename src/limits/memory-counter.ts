// Per-process rate counter: one token bucket per (budget, key) in a Map used as an LRU list
// (a touched key is moved to the end, so the oldest-touched key is always first).
//
// Memory is bounded two ways: a bucket that has refilled completely carries no information and
// is dropped (lazily from the front on every take, and by `sweep`); and at most `maxKeys` buckets
// are kept, the least recently used one giving way. An evicted bucket comes back full, so under
// key churn the limits loosen for the evicted keys, never tighten for anyone; the eviction
// counter shows when that happens and maxKeys should grow.
import type { Budget, RateCounter, Spend, TakeResult } from './rate-counter.js';
import { fullAt, takeTokens, type BucketState } from './token-bucket.js';

interface Entry extends BucketState {
  /** ms epoch when the bucket is full again and may be forgotten. */
  idleAt: number;
}

export type ForgetCause = 'expired' | 'evicted';

export interface MemoryCounterOptions {
  maxKeys: number;
  /** Told about every forgotten bucket (metrics); never given the key. */
  onForget?: (cause: ForgetCause, count: number) => void;
}

/** Buckets examined from the front of the list per take: keeps each take O(1). */
const LAZY_EXPIRY_STEPS = 4;

export class MemoryRateCounter implements RateCounter {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  readonly #maxKeys: number;
  readonly #onForget: (cause: ForgetCause, count: number) => void;

  constructor(options: MemoryCounterOptions) {
    if (!Number.isInteger(options.maxKeys) || options.maxKeys < 1) throw new RangeError('maxKeys must be a positive integer');
    this.#maxKeys = options.maxKeys;
    this.#onForget = options.onForget ?? (() => {});
  }

  async take(budget: Budget, key: string, cost: number, now: number): Promise<TakeResult> {
    return this.#take(budget, key, cost, now);
  }

  async takeMany(spends: readonly Spend[], now: number): Promise<TakeResult[]> {
    const results: TakeResult[] = [];
    for (const { budget, key, cost } of spends) {
      const result = this.#take(budget, key, cost, now);
      results.push(result);
      if (!result.allowed) break;
    }
    return results;
  }

  #take(budget: Budget, key: string, cost: number, now: number): TakeResult {
    // Budget names cannot contain a NUL, so (budget, key) pairs never collide.
    const id = `${budget.name}\u0000${key}`;
    const previous = this.#entries.get(id);
    if (previous !== undefined) this.#entries.delete(id);
    const { state, result } = takeTokens(budget, previous, cost, now);
    this.#entries.set(id, { ...state, idleAt: fullAt(budget, state) });
    this.#expireFront(now, LAZY_EXPIRY_STEPS);
    let evicted = 0;
    while (this.#entries.size > this.#maxKeys) {
      const oldest = this.#entries.keys().next().value!;
      this.#entries.delete(oldest);
      evicted++;
    }
    if (evicted > 0) this.#onForget('evicted', evicted);
    return result;
  }

  /** Drops full buckets, examining at most `maxSteps` of them; returns how many went. */
  sweep(now: number, maxSteps = 10_000): number {
    let steps = 0;
    let dropped = 0;
    for (const [id, entry] of this.#entries) {
      if (steps++ >= maxSteps) break;
      if (entry.idleAt <= now) {
        this.#entries.delete(id);
        dropped++;
      }
    }
    if (dropped > 0) this.#onForget('expired', dropped);
    return dropped;
  }

  trackedKeys(): number {
    return this.#entries.size;
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }

  #expireFront(now: number, steps: number): void {
    let dropped = 0;
    for (const [id, entry] of this.#entries) {
      if (steps-- <= 0 || entry.idleAt > now) break;
      this.#entries.delete(id);
      dropped++;
    }
    if (dropped > 0) this.#onForget('expired', dropped);
  }
}
