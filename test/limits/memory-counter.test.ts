// The memory counter: the shared contract, plus its bounds (max keys with LRU eviction, expiry
// of buckets that have refilled) and what it reports to metrics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryRateCounter, type ForgetCause } from '../../src/limits/memory-counter.js';
import type { Budget } from '../../src/limits/rate-counter.js';
import { runCounterContract } from './counter-contract.js';

const T0 = Date.UTC(2026, 0, 1);
const budget: Budget = { name: 'client', perMinute: 60, burst: 2 };

describe('memory rate counter: contract', () => {
  runCounterContract(async () => new MemoryRateCounter({ maxKeys: 1000 }));
});

describe('memory rate counter: bounds', () => {
  it('never tracks more than maxKeys; the least recently used bucket goes first', async () => {
    const forgotten: [ForgetCause, number][] = [];
    const counter = new MemoryRateCounter({ maxKeys: 3, onForget: (cause, n) => forgotten.push([cause, n]) });
    for (const key of ['a', 'b', 'c']) {
      await counter.take(budget, key, 1, T0);
      await counter.take(budget, key, 1, T0); // each bucket now empty
    }
    await counter.take(budget, 'a', 1, T0); // touches a (refused): b is now the oldest
    await counter.take(budget, 'd', 1, T0);
    assert.equal(counter.trackedKeys(), 3);
    assert.deepEqual(forgotten, [['evicted', 1]]);
    // a and c are still remembered as empty; b was evicted and comes back full.
    assert.equal((await counter.take(budget, 'a', 1, T0)).allowed, false);
    assert.equal((await counter.take(budget, 'c', 1, T0)).allowed, false);
    assert.equal((await counter.take(budget, 'b', 1, T0)).allowed, true);
    assert.ok(counter.trackedKeys() <= 3);
  });

  it('forgets buckets once they have refilled: lazily on take and by sweep', async () => {
    const forgotten: [ForgetCause, number][] = [];
    const counter = new MemoryRateCounter({ maxKeys: 100, onForget: (cause, n) => forgotten.push([cause, n]) });
    for (let i = 0; i < 10; i++) await counter.take(budget, `k${i}`, 1, T0);
    assert.equal(counter.trackedKeys(), 10);
    // One token at 1/s refills in 1 s; at T0 + 999 ms nothing is full yet.
    assert.equal(counter.sweep(T0 + 999), 0);
    assert.equal(counter.sweep(T0 + 1000), 10);
    assert.equal(counter.trackedKeys(), 0);
    assert.deepEqual(forgotten, [['expired', 10]]);

    for (let i = 0; i < 10; i++) await counter.take(budget, `k${i}`, 1, T0 + 2000);
    await counter.take(budget, 'late', 1, T0 + 5000); // examines a few of the oldest on the way
    assert.ok(counter.trackedKeys() < 11, String(counter.trackedKeys()));
  });

  it('a forgotten bucket behaves exactly like a full one', async () => {
    const counter = new MemoryRateCounter({ maxKeys: 100 });
    await counter.take(budget, 'x', 2, T0);
    counter.sweep(T0 + 60_000);
    assert.equal(counter.trackedKeys(), 0);
    const again = await counter.take(budget, 'x', 2, T0 + 60_000);
    assert.deepEqual([again.allowed, again.remaining], [true, 0]);
  });

  it('rejects a nonsensical size', () => {
    assert.throws(() => new MemoryRateCounter({ maxKeys: 0 }), RangeError);
  });
});
