// Leases in front of the Redis counter, against a real redis-server (the shared contract runs
// through leases in redis-counter.test.ts): what leases change. A busy key costs Redis about one
// script per lease, an occasional request still takes exactly its cost, replicas together never
// allow more than the burst, an unspent lease is dropped after LEASE_MS, and takeMany keeps its order.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { LEASE_MS, LeasingRateCounter, leaseCap } from '../../src/limits/leasing-counter.js';
import type { Budget } from '../../src/limits/rate-counter.js';
import { REDIS_LIMITS_NAMESPACE, RedisRateCounter } from '../../src/limits/redis-counter.js';
import { RedisStore } from '../../src/store/redis.js';
import { CONTRACT_LIMITS } from '../store/contract.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const T0 = Date.UTC(2026, 0, 1);
/** 1 token/s, a bucket of 160: leases up to 8 (160 / 16 = 10, capped by maxLease). */
const wide: Budget = { name: 'client', perMinute: 60, burst: 160 };
const MAX_LEASE = 8;
let n = 0;

interface Replica {
  store: RedisStore;
  /** The shared counter, no leases: reads the bucket as Redis holds it. */
  shared: RedisRateCounter;
  leasing: LeasingRateCounter;
}

async function replica(url: string, prefix: string): Promise<Replica> {
  const store = new RedisStore(CONTRACT_LIMITS, { url, prefix, commandTimeoutMs: 500, connectTimeoutMs: 500 });
  await store.ready().catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const shared = new RedisRateCounter(store.lendCommands(REDIS_LIMITS_NAMESPACE));
  return { store, shared, leasing: new LeasingRateCounter(new RedisRateCounter(store.lendCommands(REDIS_LIMITS_NAMESPACE)), { maxLease: MAX_LEASE }) };
}

async function replicas(t: TestContext, redis: RedisServer, count: number): Promise<Replica[]> {
  const prefix = `leases:${process.pid}:${++n}:`;
  const out: Replica[] = [];
  for (let i = 0; i < count; i += 1) out.push(await replica(redis.url, prefix));
  t.after(async () => {
    for (const r of out) {
      await r.leasing.close();
      await r.store.close();
    }
  });
  return out;
}

/** Scripts Redis has run so far (EVALSHA and EVAL calls in INFO commandstats). */
async function scriptsRun(url: string): Promise<number> {
  const probe = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const text = String(await probe.info('commandstats'));
    let calls = 0;
    for (const m of text.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(m[1]);
    return calls;
  } finally {
    probe.disconnect();
  }
}

describe('leasing rate counter: what leases change', () => {
  it('caps a lease at a sixteenth of the burst and at maxLease; small buckets lease nothing', () => {
    assert.equal(leaseCap(wide, 8), 8);
    assert.equal(leaseCap(wide, 4), 4);
    assert.equal(leaseCap({ name: 'submit', perMinute: 300, burst: 30 }, 8), 1);
    assert.equal(leaseCap({ name: 'node', perMinute: 1800, burst: 64 }, 8), 4);
  });

  it('a busy key spends its whole burst, then is refused with the exact wait, in about one script per lease', async (t) => {
    const redis = await startRedis(t);
    if (redis === null) return;
    const [a] = await replicas(t, redis, 1);
    const before = await scriptsRun(redis.url);
    let allowed = 0;
    for (let i = 0; i < wide.burst; i += 1) if ((await a!.leasing.take(wide, 'busy', 1, T0)).allowed) allowed += 1;
    const scripts = (await scriptsRun(redis.url)) - before;
    assert.equal(allowed, wide.burst);
    // Leases of 1, 2, 4 and then 8: 3 + 153 / 8 -> 23 scripts for 160 takes (one per take without leases).
    assert.ok(scripts <= 25, `scripts: ${scripts}`);
    const refused = await a!.leasing.take(wide, 'busy', 1, T0);
    assert.equal(refused.allowed, false);
    assert.ok(Math.abs(refused.retryAfterSeconds - 1) < 1e-6, String(refused.retryAfterSeconds));
    assert.equal((await a!.shared.take(wide, 'busy', 1, T0)).allowed, false, 'the shared bucket is empty too');
  });

  it('an occasional request takes exactly its cost; a key back within the lease period leases more', async (t) => {
    const redis = await startRedis(t);
    if (redis === null) return;
    const [a] = await replicas(t, redis, 1);
    // One take every 1.5 s: never back within LEASE_MS, so never a lease.
    for (let i = 0; i < 3; i += 1) await a!.leasing.take(wide, 'rare', 1, T0 + i * 1500);
    // The bucket refilled 1.5 tokens between takes up to its burst: full minus the last take.
    const seen = await a!.shared.take(wide, 'rare', 1, T0 + 3000);
    assert.equal(seen.remaining, wide.burst - 2, 'no token was leased away');
    // Now back within the period: the next script asks for 2 and keeps one here.
    const leased = await a!.leasing.take(wide, 'rare', 1, T0 + 3100);
    assert.equal(leased.allowed, true);
    const after = await a!.shared.take(wide, 'rare', 1, T0 + 3100);
    assert.equal(after.remaining, wide.burst - 2 - 2 - 1, 'the lease took two (then this take one)');
  });

  it('replicas together never allow more than the burst: 480 concurrent takes over three replicas', async (t) => {
    const redis = await startRedis(t);
    if (redis === null) return;
    const trio = await replicas(t, redis, 3);
    const results = await Promise.all(Array.from({ length: 480 }, (_, i) => trio[i % 3]!.leasing.take(wide, 'race', 1, T0)));
    const allowed = results.filter((r) => r.allowed).length;
    assert.ok(allowed <= wide.burst, `allowed ${allowed}`);
    // At worst each replica holds an unspent lease when the bucket runs dry.
    assert.ok(allowed >= wide.burst - trio.length * (MAX_LEASE - 1), `allowed ${allowed}`);
  });

  it('drops an unspent lease after LEASE_MS: the next take asks Redis again', async (t) => {
    const redis = await startRedis(t);
    if (redis === null) return;
    const [a] = await replicas(t, redis, 1);
    for (let i = 0; i < 4; i += 1) await a!.leasing.take(wide, 'lapse', 1, T0); // leases 1, 2, 4: three tokens unspent here
    const held = await scriptsRun(redis.url);
    assert.equal((await a!.leasing.take(wide, 'lapse', 1, T0 + LEASE_MS - 1)).allowed, true);
    assert.equal((await scriptsRun(redis.url)) - held, 0, 'spent from the lease');
    assert.equal((await a!.leasing.take(wide, 'lapse', 1, T0 + LEASE_MS + 1)).allowed, true);
    assert.equal((await scriptsRun(redis.url)) - held, 1, 'the lease had lapsed');
  });

  it('takeMany keeps its order across leased and shared takes: the first refusal decides, nothing after it is charged', async (t) => {
    const redis = await startRedis(t);
    if (redis === null) return;
    const [a] = await replicas(t, redis, 1);
    const tight: Budget = { name: 'submit', perMinute: 60, burst: 1 };
    for (let i = 0; i < 4; i += 1) await a!.leasing.take(wide, 'mixed', 1, T0); // 'mixed' holds a lease of 3
    await a!.leasing.take(tight, 'mixed', 1, T0); // 'tight' is empty
    const [first, second, ...rest] = await a!.leasing.takeMany(
      [
        { budget: wide, key: 'mixed', cost: 1 },
        { budget: tight, key: 'mixed', cost: 1 },
        { budget: wide, key: 'other', cost: 1 },
      ],
      T0,
    );
    assert.equal(first?.allowed, true);
    assert.equal(second?.allowed, false);
    assert.equal(rest.length, 0);
    assert.equal((await a!.shared.take(wide, 'other', 1, T0)).remaining, wide.burst - 1, 'the take after the refusal was not made');
    // Refused first: the leased take after it is not spent either.
    const refusedFirst = await a!.leasing.takeMany(
      [
        { budget: tight, key: 'mixed', cost: 1 },
        { budget: wide, key: 'mixed', cost: 1 },
      ],
      T0,
    );
    assert.deepEqual(
      refusedFirst.map((r) => r.allowed),
      [false],
    );
  });
});
