import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryReclaimer, RECLAIM_AFTER_EXPIRED, RECLAIM_MIN_INTERVAL_MS } from '../../src/memory/reclaim.js';

describe('memory reclaim after a large expiry', () => {
  // Counts the full collections the reclaimer asks for (it uses globalThis.gc when present).
  let collections = 0;
  (globalThis as { gc?: () => void }).gc = () => {
    collections += 1;
  };

  it('collects once, when a large burst of expiries has ended, and not more often than the interval', () => {
    const reclaimer = new MemoryReclaimer();
    const t0 = 1_000_000;
    assert.equal(reclaimer.afterSweep(RECLAIM_AFTER_EXPIRED / 2, t0), 0, 'still expiring: wait');
    assert.equal(reclaimer.afterSweep(RECLAIM_AFTER_EXPIRED / 2, t0 + 1000), 0);
    assert.equal(collections, 0);
    assert.equal(reclaimer.afterSweep(0, t0 + 2000), RECLAIM_AFTER_EXPIRED, 'the burst is over: collect');
    assert.equal(collections, 1);
    assert.equal(reclaimer.afterSweep(0, t0 + 3000), 0, 'nothing new expired');
    reclaimer.afterSweep(RECLAIM_AFTER_EXPIRED, t0 + 4000);
    assert.equal(reclaimer.afterSweep(0, t0 + 5000), 0, 'too soon after the last one');
    assert.equal(collections, 1);
    assert.equal(reclaimer.afterSweep(0, t0 + RECLAIM_MIN_INTERVAL_MS + 2000), RECLAIM_AFTER_EXPIRED, 'the held-back burst is reclaimed once allowed');
    assert.equal(collections, 2);
  });

  it('ordinary trickles of expiry never trigger it', () => {
    const reclaimer = new MemoryReclaimer();
    const before = collections;
    for (let i = 0; i < 1000; i += 1) {
      reclaimer.afterSweep(5, i * 2000);
      reclaimer.afterSweep(0, i * 2000 + 1000);
    }
    assert.equal(collections, before);
  });

  it("each protocol's sweep keeps its own burst: the other's empty sweeps do not end it", () => {
    const reclaimer = new MemoryReclaimer();
    const legacy = reclaimer.burst();
    const v1 = reclaimer.burst();
    const before = collections;
    const t0 = 10 * RECLAIM_MIN_INTERVAL_MS;
    // A flood expiring at a fifth of the threshold per sweep, the other protocol idle in between.
    for (let i = 0; i < 5; i += 1) {
      assert.equal(legacy.afterSweep(RECLAIM_AFTER_EXPIRED / 5, t0 + i * 2000), 0);
      assert.equal(v1.afterSweep(0, t0 + i * 2000 + 1000), 0);
    }
    assert.equal(collections, before, 'still expiring');
    assert.equal(legacy.afterSweep(0, t0 + 10_000), RECLAIM_AFTER_EXPIRED, 'the burst is over: collect');
    assert.equal(collections, before + 1);
    // The interval is shared: another sweep's burst right after waits for it.
    v1.afterSweep(RECLAIM_AFTER_EXPIRED, t0 + 11_000);
    assert.equal(v1.afterSweep(0, t0 + 12_000), 0, 'too soon after the last collection');
    assert.equal(v1.afterSweep(0, t0 + 10_000 + RECLAIM_MIN_INTERVAL_MS), RECLAIM_AFTER_EXPIRED);
  });
});
