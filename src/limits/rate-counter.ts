// The rate-limit counter boundary. The plugin (src/http/rate-limit-plugin.ts) decides *what* to
// count (budget, key, cost); a counter only answers "may this key spend `cost` now?" and
// remembers the answer. Two backends: memory (per process) and Redis (global across replicas).
//
// The algorithm is a token bucket per (budget, key): the bucket holds at most `burst` tokens and
// refills at `perMinute / 60` tokens a second; a request spends `cost` tokens or is refused.
// Why a token bucket rather than a sliding window: the state per key is two numbers (tokens,
// last update), so memory per key is constant and the Redis script is one small hash; it lets
// an honest peer burst (a page load asks next-server, submit and retrieve back to back) while
// holding the sustained rate; and the wait until the next allowed request is exact, which is
// what Retry-After should say. A sliding-window log needs a timestamp per request, and the
// fixed-window counter lets a client spend twice its budget across a window edge.
//
// Contract for every implementation (test/limits/counter-contract.ts runs it against each):
//  * `take` is atomic per (budget, key): two concurrent takes never both spend the last token.
//  * A refused take spends nothing.
//  * A key that has been idle long enough to refill completely is indistinguishable from a key
//    never seen, so an implementation may forget it (memory: expiry and LRU; Redis: PEXPIRE).
//  * Keys are opaque strings chosen by the caller; the plugin only passes digests and address
//    prefixes, never public keys, so a counter's storage holds nothing that identifies a peer key.
//  * `now` is the caller's clock in ms since the epoch; a clock that goes backwards refills nothing.
//  * `takeMany` is a sequence of takes in one step (one script call on Redis): they run in order
//    and stop at the first refusal, which spends nothing; the takes before it stay spent and the
//    ones after it are not made. The same outcome as calling `take` for each in turn and
//    stopping at the first refusal, which is what a request spending several budgets does.

/** One budget: a name (a bounded metrics label) and its bucket shape. */
export interface Budget {
  readonly name: string;
  /** Sustained rate: tokens added per minute. */
  readonly perMinute: number;
  /** Bucket size: the most that can be spent at once after a quiet spell. */
  readonly burst: number;
}

export interface TakeResult {
  readonly allowed: boolean;
  /** Whole tokens left after this take (0 when refused). */
  readonly remaining: number;
  /** When refused: seconds until `cost` tokens are back (fractional; callers round up). 0 when allowed. */
  readonly retryAfterSeconds: number;
}

/** One take of a takeMany. */
export interface Spend {
  readonly budget: Budget;
  readonly key: string;
  readonly cost: number;
}

export interface RateCounter {
  readonly kind: 'memory' | 'redis';
  take(budget: Budget, key: string, cost: number, now: number): Promise<TakeResult>;
  /** The takes in order, up to and including the first refusal: one result per take made. */
  takeMany(spends: readonly Spend[], now: number): Promise<TakeResult[]>;
  /** Keys currently tracked, when the backend can say cheaply (metrics). */
  trackedKeys?(): number;
  close(): Promise<void>;
}
