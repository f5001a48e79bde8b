// Leases in front of the Redis rate counter: a key spending fast on one replica takes a few tokens
// at a time from its shared bucket and spends them locally, so a busy key costs Redis one script
// per lease instead of one per request (with the default budgets a flat-out peer needs about one
// script in eight; each one is a round trip for the replica and a script run for Redis).
//
// Why this never loosens a limit: leased tokens have left the shared bucket when they are spent
// here, so across all replicas a key never spends more than its bucket allows; the cost is the
// other way. A lease this replica does not spend within LEASE_MS is dropped (returning it would
// be another script), so a key can lose up to a lease's worth of tokens per replica it used;
// leases are capped at 1/16 of the burst (and `maxLease`), and a key only leases after it came
// back to Redis twice within LEASE_MS: an occasional request takes exactly its cost, as before.
//
// Contract: src/limits/rate-counter.ts, with two differences the tests hold it to: `remaining`
// is the shared bucket's count at the last script plus this replica's unspent lease (other
// replicas' spending since is not seen), and across replicas a budget allows between
// burst − replicas × (lease − 1) and burst at once instead of exactly the burst.
import type { Budget, RateCounter, Spend, TakeResult } from './rate-counter.js';
import type { LeaseResult, LeaseSpend } from './redis-counter.js';

/** How long an unspent lease is kept (ms): short, so an idle key's tokens are not held away from its other replicas. */
export const LEASE_MS = 1000;

/** Entries beyond this many leased keys are dropped oldest first (a key without a lease just asks Redis). */
const MAX_LEASED_KEYS = 10_000;
/** Stale leases dropped from the front per script, so the map does not keep keys gone quiet. */
const LAZY_EXPIRY_STEPS = 4;

/** The shared counter underneath: takeMany with leases (src/limits/redis-counter.ts). */
export interface LeaseSource extends RateCounter {
  lease(spends: readonly LeaseSpend[], now: number): Promise<LeaseResult[]>;
}

interface Lease {
  /** Unspent leased tokens, valid until `until`. */
  tokens: number;
  until: number;
  /** The shared bucket's whole tokens after the last script (for `remaining`). */
  shared: number;
  /** What the last script asked for, and when it ran: a key back within LEASE_MS asks for twice as much. */
  want: number;
  askedAt: number;
}

/** The most a key leases at once from `budget`: a sixteenth of its burst, at most `maxLease`, at least 1 (no lease). */
export function leaseCap(budget: Budget, maxLease: number): number {
  return Math.max(1, Math.min(maxLease, Math.floor(budget.burst / 16)));
}

export class LeasingRateCounter implements RateCounter {
  readonly kind: RateCounter['kind'];
  readonly #inner: LeaseSource;
  readonly #maxLease: number;
  readonly #leases = new Map<string, Lease>();

  constructor(inner: LeaseSource, options: { maxLease: number }) {
    this.kind = inner.kind;
    this.#inner = inner;
    this.#maxLease = options.maxLease;
  }

  async take(budget: Budget, key: string, cost: number, now: number): Promise<TakeResult> {
    return (await this.takeMany([{ budget, key, cost }], now))[0]!;
  }

  async takeMany(spends: readonly Spend[], now: number): Promise<TakeResult[]> {
    const results: TakeResult[] = [];
    // The takes a live lease covers are spent here, in order, up to the first it does not cover;
    // that one and every take after it go to Redis in one script, which keeps takeMany's order:
    // the first refusal decides and nothing after it is charged.
    let i = 0;
    for (; i < spends.length; i += 1) {
      const { budget, key, cost } = spends[i]!;
      const lease = this.#leases.get(idOf(budget, key));
      if (lease === undefined || lease.until <= now || lease.tokens < cost) break;
      lease.tokens -= cost;
      results.push({ allowed: true, remaining: lease.shared + lease.tokens, retryAfterSeconds: 0 });
    }
    if (i === spends.length) return results;
    const asks = spends.slice(i).map((spend) => ({ ...spend, want: this.#want(spend, now) }));
    const replies = await this.#inner.lease(asks, now);
    for (let j = 0; j < replies.length; j += 1) {
      const reply = replies[j]!;
      const ask = asks[j]!;
      if (!reply.allowed) {
        results.push(reply);
        break;
      }
      const lease = this.#keep(idOf(ask.budget, ask.key), reply.taken - ask.cost, reply.remaining, ask.want, now);
      results.push({ allowed: true, remaining: reply.remaining + lease.tokens, retryAfterSeconds: 0 });
    }
    this.#dropStale(now);
    return results;
  }

  /** Keys with a lease entry (for tests and metrics). */
  leasedKeys(): number {
    return this.#leases.size;
  }

  async close(): Promise<void> {
    this.#leases.clear();
    await this.#inner.close();
  }

  #want(spend: Spend, now: number): number {
    const cap = leaseCap(spend.budget, this.#maxLease);
    if (cap <= spend.cost) return spend.cost;
    const last = this.#leases.get(idOf(spend.budget, spend.key));
    // Back within a lease period: this key spends faster than one script per period is worth.
    if (last === undefined || now - last.askedAt >= LEASE_MS || now < last.askedAt) return spend.cost;
    return Math.min(cap, Math.max(spend.cost + 1, last.want * 2));
  }

  #keep(id: string, extra: number, shared: number, want: number, now: number): Lease {
    const previous = this.#leases.get(id);
    // Tokens of a live lease stay (a concurrent script on the same key adds to them).
    const tokens = (previous !== undefined && previous.until > now ? previous.tokens : 0) + Math.max(0, extra);
    if (previous !== undefined) this.#leases.delete(id);
    const lease: Lease = { tokens, until: now + LEASE_MS, shared, want, askedAt: now };
    this.#leases.set(id, lease);
    while (this.#leases.size > MAX_LEASED_KEYS) this.#leases.delete(this.#leases.keys().next().value!);
    return lease;
  }

  /** Map order is the order of the last script per key: the front goes stale first. */
  #dropStale(now: number): void {
    for (let step = 0; step < LAZY_EXPIRY_STEPS; step += 1) {
      const first = this.#leases.entries().next();
      if (first.done === true || now - first.value[1].askedAt < LEASE_MS) return;
      this.#leases.delete(first.value[0]);
    }
  }
}

function idOf(budget: Budget, key: string): string {
  // Budget names cannot contain a NUL, so (budget, key) pairs never collide.
  return `${budget.name}\u0000${key}`;
}
