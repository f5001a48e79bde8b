// The token-bucket arithmetic, shared by the memory counter and mirrored line for line by the
// Redis counter's Lua script, so both backends refuse exactly the same requests.
import type { Budget, TakeResult } from './rate-counter.js';

export interface BucketState {
  tokens: number;
  /** ms epoch of the last update. */
  at: number;
}

/** Tokens per millisecond. */
export function refillPerMs(budget: Budget): number {
  return budget.perMinute / 60_000;
}

/**
 * Applies one take to `state` (undefined = a full bucket) and returns the new state and answer.
 * A cost above the burst can never succeed; it is treated as the whole burst, so the caller is
 * told to come back when the bucket is full rather than never.
 */
export function takeTokens(budget: Budget, state: BucketState | undefined, cost: number, now: number): { state: BucketState; result: TakeResult } {
  const rate = refillPerMs(budget);
  const need = Math.min(Math.max(cost, 0), budget.burst);
  const elapsed = state === undefined ? 0 : Math.max(0, now - state.at);
  const tokens = state === undefined ? budget.burst : Math.min(budget.burst, state.tokens + elapsed * rate);
  const at = state === undefined ? now : Math.max(now, state.at);
  if (tokens >= need) {
    const left = tokens - need;
    return { state: { tokens: left, at }, result: { allowed: true, remaining: Math.floor(left), retryAfterSeconds: 0 } };
  }
  const waitMs = rate > 0 ? (need - tokens) / rate : Number.POSITIVE_INFINITY;
  return { state: { tokens, at }, result: { allowed: false, remaining: 0, retryAfterSeconds: waitMs / 1000 } };
}

/** When a bucket in `state` is full again; after that moment it may be forgotten. */
export function fullAt(budget: Budget, state: BucketState): number {
  const rate = refillPerMs(budget);
  if (rate <= 0) return Number.POSITIVE_INFINITY;
  return state.at + (budget.burst - state.tokens) / rate;
}
