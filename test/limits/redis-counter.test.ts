// The Redis counter against a real redis-server: the shared contract (fake clock: time is passed
// in), one budget shared by two replicas, native expiry of idle buckets, its keys kept out of the
// store's snapshot, and failing fast while Redis is away. The contract runs through leases too.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import type { Budget, RateCounter } from '../../src/limits/rate-counter.js';
import { LeasingRateCounter } from '../../src/limits/leasing-counter.js';
import { MAX_KEY_CHARS, REDIS_LIMITS_NAMESPACE, RedisRateCounter } from '../../src/limits/redis-counter.js';
import { RedisStore } from '../../src/store/redis.js';
import { launchRedis, startRedis, type RedisServer } from '../support/redis-server.js';
import { findTool, requireTool } from '../support/tools.js';
import { CONTRACT_LIMITS } from '../store/contract.js';
import { runCounterContract } from './counter-contract.js';

const T0 = Date.UTC(2026, 0, 1);
const budget: Budget = { name: 'client', perMinute: 60, burst: 4 }; // 1 token/s, bucket of 4
let n = 0;

/** A store (one replica's connections) on a fresh namespace, and the counter borrowing it. */
async function replica(url: string, prefix = `limits:${process.pid}:${++n}:`): Promise<{ store: RedisStore; counter: RedisRateCounter }> {
  const store = new RedisStore(CONTRACT_LIMITS, { url, prefix, commandTimeoutMs: 500, connectTimeoutMs: 500 });
  // A store that never got ready still reconnects forever: close it, or the process cannot exit.
  await store.ready().catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  return { store, counter: new RedisRateCounter(store.lendCommands(REDIS_LIMITS_NAMESPACE)) };
}

/** The contract closes the counter; the connection it borrowed goes with the store, closed after it. */
function closingStore(counter: RateCounter, store: RedisStore): RateCounter {
  return {
    kind: counter.kind,
    take: (b, key, cost, now) => counter.take(b, key, cost, now),
    takeMany: (spends, now) => counter.takeMany(spends, now),
    async close() {
      await counter.close();
      await store.close();
    },
  };
}

/** Two replicas on one namespace, closed after the test. */
async function twoReplicas(t: TestContext, redis: RedisServer) {
  const prefix = `limits:${process.pid}:${++n}:`;
  const pair = [await replica(redis.url, prefix), await replica(redis.url, prefix)];
  t.after(async () => {
    await Promise.all(
      pair.map(async ({ store, counter }) => {
        await counter.close();
        await store.close();
      }),
    );
  });
  return pair;
}

describe('redis rate counter: contract', () => {
  const binary = findTool('redis-server');
  if (binary === null) {
    it('needs redis-server', (t) => {
      requireTool(t, 'redis-server', 'apt-get install redis-server');
    });
    return;
  }
  let redis: RedisServer | undefined;
  before(async () => {
    redis = await launchRedis(binary);
  });
  after(async () => {
    await redis?.stop(true);
  });
  runCounterContract(async (): Promise<RateCounter> => {
    const { store, counter } = await replica(redis!.url);
    return closingStore(counter, store);
  });
  // The same contract through leases (src/limits/leasing-counter.ts): its small buckets lease
  // nothing, so leases must be invisible here; what they change is test/limits/leasing-counter.test.ts.
  describe('through leases', () => {
    runCounterContract(async (): Promise<RateCounter> => {
      const { store, counter } = await replica(redis!.url);
      return closingStore(new LeasingRateCounter(counter, { maxLease: 8 }), store);
    });
  });
});

describe('redis rate counter: across replicas', () => {
  it('two replicas spend one budget: half the burst on each, then both refuse', async (t) => {
    const redis = await startRedis(t);
    if (redis === null) return;
    const [a, b] = await twoReplicas(t, redis);
    assert.equal((await a!.counter.take(budget, 'peer', 1, T0)).allowed, true);
    assert.equal((await a!.counter.take(budget, 'peer', 1, T0)).allowed, true);
    assert.equal((await b!.counter.take(budget, 'peer', 1, T0)).allowed, true);
    const last = await b!.counter.take(budget, 'peer', 1, T0);
    assert.deepEqual([last.allowed, last.remaining], [true, 0]);
    for (const counter of [a!.counter, b!.counter]) {
      const refused = await counter.take(budget, 'peer', 1, T0);
      assert.equal(refused.allowed, false);
      assert.ok(Math.abs(refused.retryAfterSeconds - 1) < 1e-6, String(refused.retryAfterSeconds));
    }
    // Refilled time is shared too: one second later exactly one token, whichever replica asks.
    assert.equal((await b!.counter.take(budget, 'peer', 1, T0 + 1000)).allowed, true);
    assert.equal((await a!.counter.take(budget, 'peer', 1, T0 + 1000)).allowed, false);
  });

  it('is atomic across replicas: 100 concurrent takes split over two replicas allow exactly the burst', async (t) => {
    const redis = await startRedis(t);
    if (redis === null) return;
    const [a, b] = await twoReplicas(t, redis);
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a! : b!).counter.take(budget, 'race', 1, T0)));
    assert.equal(results.filter((r) => r.allowed).length, budget.burst);
  });
});

describe('redis rate counter: keys and bounds', () => {
  it('keeps one hash per bucket under <prefix>rl:<budget>:, expiring natively when full again', async (t) => {
    const redis = await startRedis(t);
    if (redis === null) return;
    const prefix = `limits:${process.pid}:${++n}:`;
    const { store, counter } = await replica(redis.url, prefix);
    const raw = new Redis(redis.url);
    raw.on('error', () => {});
    t.after(async () => {
      raw.disconnect();
      await store.close();
    });
    await counter.take(budget, 'idle', 3, T0); // 3 tokens short: full again in 3 s
    const key = `${prefix}${REDIS_LIMITS_NAMESPACE}client:idle`;
    const ttl = await raw.pttl(key);
    assert.ok(ttl > 2000 && ttl <= 3000, `ttl ${ttl}`);
    assert.deepEqual(await raw.hgetall(key), { t: '1', a: String(T0) });

    // A fast budget (1 token/ms) refills in milliseconds: its bucket is gone soon after.
    const fast: Budget = { name: 'ops', perMinute: 60_000, burst: 5 };
    await counter.take(fast, 'quick', 5, T0);
    const fastKey = `${prefix}${REDIS_LIMITS_NAMESPACE}ops:quick`;
    assert.ok((await raw.pttl(fastKey)) <= 5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await raw.exists(fastKey), 0, 'an idle bucket vanishes without a sweep');

    // Rate-limit buckets are not relay state: a request that only spent a token changed nothing.
    assert.deepEqual(await store.snapshot(), []);

    // Key names stay bounded whatever the caller passes.
    await counter.take(budget, 'x'.repeat(10_000), 1, T0);
    const names = await raw.keys(`${prefix}*`);
    assert.ok(
      names.every((name) => name.length <= prefix.length + REDIS_LIMITS_NAMESPACE.length + 'client:'.length + MAX_KEY_CHARS),
      names.join(),
    );
  });

  it('refuses budgets it could never forget or could not name safely', async (t) => {
    const redis = await startRedis(t);
    if (redis === null) return;
    const { store, counter } = await replica(redis.url);
    t.after(() => store.close());
    await assert.rejects(counter.take({ name: 'bad:name', perMinute: 1, burst: 1 }, 'k', 1, T0), RangeError);
    await assert.rejects(counter.take({ name: 'never', perMinute: 0, burst: 1 }, 'k', 1, T0), RangeError);
  });

  it('Redis gone: a take fails fast (the plugin then lets the request through); it works again after a restart', async (t) => {
    const redis = await startRedis(t);
    if (redis === null) return;
    const { store, counter } = await replica(redis.url);
    t.after(() => store.close());
    assert.equal((await counter.take(budget, 'k', 1, T0)).allowed, true);
    await redis.stop(true);
    const started = Date.now();
    await assert.rejects(counter.take(budget, 'k', 1, T0));
    assert.ok(Date.now() - started < 5000, 'no hang');
    await redis.restart();
    await store.ready(10_000);
    // A fresh Redis (no persistence) forgot the script and the bucket: EVALSHA falls back to EVAL.
    const again = await counter.take(budget, 'k', 1, T0);
    assert.deepEqual([again.allowed, again.remaining], [true, 3]);
  });
});
