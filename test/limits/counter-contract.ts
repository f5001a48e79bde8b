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

  it(
    'takeMany spends in order and stops at the first refusal: the refusing budget and those after it keep their tokens',
    withCounter(async (counter) => {
      const first: Budget = { name: 'client', perMinute: 60, burst: 3 };
      const second: Budget = { name: 'submit', perMinute: 60, burst: 1 };
      const third: Budget = { name: 'client_key', perMinute: 60, burst: 2 };
      const spends = [
        { budget: first, key: 'm', cost: 1 },
        { budget: second, key: 'm', cost: 1 },
        { budget: third, key: 'm', cost: 1 },
      ];
      const all = await counter.takeMany(spends, T0);
      assert.deepEqual(
        all.map((r) => [r.allowed, r.remaining]),
        [
          [true, 2],
          [true, 0],
          [true, 1],
        ],
      );
      // `second` is empty: it refuses with its own wait, `first` pays, `third` is not charged.
      const refused = await counter.takeMany(spends, T0);
      assert.deepEqual(
        refused.map((r) => r.allowed),
        [true, false],
      );
      assert.ok(Math.abs(refused[1]!.retryAfterSeconds - 1) < 1e-6, String(refused[1]!.retryAfterSeconds));
      assert.equal((await counter.take(first, 'm', 1, T0)).remaining, 0);
      assert.equal((await counter.take(third, 'm', 1, T0)).remaining, 0);
      // The refusal spent nothing: one second refills `second`'s one token.
      assert.equal((await counter.take(second, 'm', 1, T0 + 1000)).allowed, true);
    }),
  );

  it(
    'takeMany answers the same as take after take: one call, the same buckets',
    withCounter(async (counter) => {
      const a: Budget = { name: 'node_address', perMinute: 60, burst: 2 };
      const b: Budget = { name: 'node', perMinute: 120, burst: 2 };
      const pair = [
        { budget: a, key: 'x', cost: 1 },
        { budget: b, key: 'y', cost: 1 },
      ];
      const seen = [];
      for (const t of [T0, T0, T0, T0 + 500, T0 + 1000]) seen.push((await counter.takeMany(pair, t)).map((r) => [r.allowed, r.remaining]));
      assert.deepEqual(seen, [
        [
          [true, 1],
          [true, 1],
        ],
        [
          [true, 0],
          [true, 0],
        ],
        [[false, 0]],
        [[false, 0]],
        // A second on: `a` (1 a second) has one token again, `b` (2 a second) is full.
        [
          [true, 0],
          [true, 1],
        ],
      ]);
      assert.deepEqual(await counter.takeMany([], T0), []);
    }),
  );

  it(
    'takeMany is atomic: 40 concurrent two-budget spends allow exactly the smaller burst',
    withCounter(async (counter) => {
      const wide: Budget = { name: 'client', perMinute: 60, burst: 10 };
      const narrow: Budget = { name: 'submit', perMinute: 60, burst: 4 };
      const results = await Promise.all(
        Array.from({ length: 40 }, () =>
          counter.takeMany(
            [
              { budget: wide, key: 'z', cost: 1 },
              { budget: narrow, key: 'z', cost: 1 },
            ],
            T0,
          ),
        ),
      );
      assert.equal(results.filter((r) => r.length === 2 && r[1]!.allowed).length, 4);
      // `wide` paid for every request it let past: 10 tokens, then refusals of its own.
      assert.equal(results.filter((r) => r.length === 1).length, 30);
    }),
  );
}
