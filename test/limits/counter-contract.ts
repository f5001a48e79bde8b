// The behaviour every RateCounter backend must show (src/limits/rate-counter.ts). Each backend's
// test file calls runCounterContract with a factory; time is passed in, never read.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Budget, RateCounter } from '../../src/limits/rate-counter.js';

const T0 = Date.UTC(2026, 0, 1);
const tenPerMinute: Budget = { name: 'client', perMinute: 60, burst: 3 }; // 1 token/s, bucket of 3

export function runCounterContract(make: () => Promise<RateCounter>): void {
  const withCounter = (fn: (counter: RateCounter) => Promise<void>) => async () => {
    const counter = await make();
    try {
      await fn(counter);
    } finally {
      await counter.close();
    }
  };

  it(
    'allows a burst, then refuses with the exact wait, and spends nothing when refusing',
    withCounter(async (counter) => {
      const got = [];
      for (let i = 0; i < 3; i++) got.push(await counter.take(tenPerMinute, 'a', 1, T0));
      assert.deepEqual(
        got.map((r) => [r.allowed, r.remaining]),
        [
          [true, 2],
          [true, 1],
          [true, 0],
        ],
      );
      const refused = await counter.take(tenPerMinute, 'a', 1, T0);
      assert.equal(refused.allowed, false);
      assert.ok(Math.abs(refused.retryAfterSeconds - 1) < 1e-6, String(refused.retryAfterSeconds));
      // Half a second later, still half a token short: the refusals did not dig a deeper hole.
      const later = await counter.take(tenPerMinute, 'a', 1, T0 + 500);
      assert.equal(later.allowed, false);
      assert.ok(Math.abs(later.retryAfterSeconds - 0.5) < 1e-6, String(later.retryAfterSeconds));
      assert.equal((await counter.take(tenPerMinute, 'a', 1, T0 + 1000)).allowed, true);
    }),
  );

  it(
    'refills at the sustained rate and never beyond the burst',
    withCounter(async (counter) => {
      for (let i = 0; i < 3; i++) await counter.take(tenPerMinute, 'k', 1, T0);
      const hourLater = T0 + 3_600_000;
      const results = [];
      for (let i = 0; i < 4; i++) results.push((await counter.take(tenPerMinute, 'k', 1, hourLater)).allowed);
      assert.deepEqual(results, [true, true, true, false]);
    }),
  );

  it(
    'keeps keys and budgets apart',
    withCounter(async (counter) => {
      const other: Budget = { name: 'submit', perMinute: 60, burst: 3 };
      for (let i = 0; i < 3; i++) await counter.take(tenPerMinute, 'a', 1, T0);
      assert.equal((await counter.take(tenPerMinute, 'a', 1, T0)).allowed, false);
      assert.equal((await counter.take(tenPerMinute, 'b', 1, T0)).allowed, true);
      assert.equal((await counter.take(other, 'a', 1, T0)).allowed, true);
    }),
  );

  it(
    'charges the cost, and a cost above the burst waits for a full bucket rather than forever',
    withCounter(async (counter) => {
      assert.equal((await counter.take(tenPerMinute, 'c', 2, T0)).remaining, 1);
      const big = await counter.take(tenPerMinute, 'c', 10, T0);
      assert.equal(big.allowed, false);
      assert.ok(Math.abs(big.retryAfterSeconds - 2) < 1e-6, String(big.retryAfterSeconds));
    }),
  );

  it(
    'a clock that goes backwards refills nothing',
    withCounter(async (counter) => {
      for (let i = 0; i < 3; i++) await counter.take(tenPerMinute, 'd', 1, T0 + 10_000);
      assert.equal((await counter.take(tenPerMinute, 'd', 1, T0)).allowed, false);
      assert.equal((await counter.take(tenPerMinute, 'd', 1, T0 + 10_000)).allowed, false);
    }),
  );

  it(
    'is atomic: 50 concurrent takes from a bucket of 3 allow exactly 3',
    withCounter(async (counter) => {
      const results = await Promise.all(Array.from({ length: 50 }, () => counter.take(tenPerMinute, 'e', 1, T0)));
      assert.equal(results.filter((r) => r.allowed).length, 3);
    }),
  );
}
