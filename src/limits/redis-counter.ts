// Rate counter shared by every replica: each bucket is one Redis hash, and each take (or
// takeMany, the budgets one request spends) is one Lua script, so two replicas spending from the
// same bucket at once see one order and never both spend the last token. The script is
// token-bucket.ts line for line (same IEEE doubles, same order of operations), so the memory and
// Redis backends refuse exactly the same requests.
//
// Time is the caller's `now`, never the server's TIME: the clock is injected everywhere else, and
// the contract suite drives both backends with one fake clock. The bucket remembers the latest
// `now` it has seen and a clock behind it refills nothing, so skew between replicas can only make
// a limit stricter (by at most the skew's worth of refill), never looser.
//
// Bounds: a bucket is forgotten exactly when it would be full again (native PEXPIRE, relative, so
// it does not depend on the replicas' wall clocks agreeing with Redis's), which makes an unknown
// key and an idle one the same thing (rate-counter.ts). With the default budgets no bucket lives
// longer than burst / rate (15 s for `ops`), so the keys in Redis are at most the distinct keys
// active in the last few seconds, each a few dozen bytes. Keys longer than MAX_KEY_CHARS are
// digested, so a key name never grows with its input.
//
// The counter borrows the Redis store's command connection (a process keeps two connections:
// commands and subscriber, src/store/redis/connection.ts) and never closes it; the store does.
// That connection fails fast while Redis is away (no offline queue, bounded command timeout), so
// a take rejects at once and the plugin lets the request through and counts the error.
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { loadLua } from '../store/redis/lua-loader.js';
import { LuaScript } from '../store/redis/lua-script.js';
import type { Budget, RateCounter, Spend, TakeResult } from './rate-counter.js';

/** A take that may lease more than its cost: up to `want` whole tokens (src/limits/leasing-counter.ts). */
export interface LeaseSpend extends Spend {
  readonly want: number;
}
/** A take's result and how many tokens it took (its cost, or more when it leased; 0 when refused). */
export interface LeaseResult extends TakeResult {
  readonly taken: number;
}

/** Under the store's prefix: `<prefix>rl:<budget>:<key>`. No store key family starts with `rl:`. */
export const REDIS_LIMITS_NAMESPACE = 'rl:';

/** Longer keys are replaced by a digest (the plugin's own keys are far shorter). */
export const MAX_KEY_CHARS = 128;

/** Budget names become part of a key name and are split off by the first ':' after the namespace. */
const BUDGET_NAME = /^[a-z0-9_]{1,32}$/;

// The take script: ./lua/take.lua (its header names KEYS, ARGV and the reply), read once.
const TAKE_SCRIPT = new URL('./lua/take.lua', import.meta.url);

/** The bucket keys, now, then perMinute, burst, cost, want per bucket (./lua/take.lua). */
const TAKE = new LuaScript(loadLua(TAKE_SCRIPT));

export interface RedisCounterOptions {
  /** The store's command connection; borrowed, never closed here. */
  redis: Redis | Cluster;
  /** Full key prefix for buckets: the store's prefix plus REDIS_LIMITS_NAMESPACE. */
  prefix: string;
}

export class RedisRateCounter implements RateCounter {
  readonly kind = 'redis' as const;
  readonly #prefix: string;
  readonly #redis: Redis | Cluster;
  readonly #checked = new WeakSet<Budget>();
  #closed = false;

  constructor(options: RedisCounterOptions) {
    this.#prefix = options.prefix;
    this.#redis = options.redis;
  }

  async take(budget: Budget, key: string, cost: number, now: number): Promise<TakeResult> {
    return (await this.takeMany([{ budget, key, cost }], now))[0]!;
  }

  async takeMany(spends: readonly Spend[], now: number): Promise<TakeResult[]> {
    return this.lease(
      spends.map((spend) => ({ ...spend, want: spend.cost })),
      now,
    );
  }

  /** takeMany where each take may lease up to `want` tokens when its bucket holds them (one script call). */
  async lease(spends: readonly LeaseSpend[], now: number): Promise<LeaseResult[]> {
    if (this.#closed) throw new Error('rate counter closed');
    if (spends.length === 0) return [];
    const keys: string[] = [];
    const args: string[] = [String(now)];
    for (const { budget, key, cost, want } of spends) {
      this.#check(budget);
      const id = key.length > MAX_KEY_CHARS ? `#${createHash('sha256').update(key).digest('base64url')}` : key;
      keys.push(`${this.#prefix}${budget.name}:${id}`);
      args.push(String(budget.perMinute), String(budget.burst), String(cost), String(Math.max(cost, want)));
    }
    // EVALSHA, or EVAL after a Redis restart forgot the script; each call names its own buckets.
    const reply = (await TAKE.run(this.#redis, keys.length, ...keys, ...args)) as (number | string)[];
    const results: LeaseResult[] = [];
    for (let i = 0; i + 3 < reply.length; i += 4) {
      if (Number(reply[i]) === 1) {
        results.push({ allowed: true, remaining: Number(reply[i + 1]), retryAfterSeconds: 0, taken: Number(reply[i + 3]) });
        continue;
      }
      const seconds = Number(reply[i + 2]);
      results.push({ allowed: false, remaining: 0, retryAfterSeconds: seconds < 0 ? Number.POSITIVE_INFINITY : seconds, taken: 0 });
      break;
    }
    return results;
  }

  async close(): Promise<void> {
    // The connection belongs to the store, which closes it after the app's hooks have run.
    this.#closed = true;
  }

  #check(budget: Budget): void {
    if (this.#checked.has(budget)) return;
    if (!BUDGET_NAME.test(budget.name)) throw new RangeError('budget name must be 1-32 of [a-z0-9_]');
    // A bucket that never refills could never be forgotten: every budget must refill.
    if (!(budget.perMinute > 0 && Number.isFinite(budget.perMinute))) throw new RangeError('perMinute must be a positive number');
    if (!(budget.burst > 0 && Number.isFinite(budget.burst))) throw new RangeError('burst must be a positive number');
    this.#checked.add(budget);
  }
}
