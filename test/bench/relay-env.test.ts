// The bench's relay environments run as written: the relay's memory fit (src/memory/fit.ts) keeps
// their byte cap. The step-5 cycle once raised the v1 tombstone cap to 2,000,000, which the fit
// priced at 5.6 GB of heap and answered by dropping the byte cap to its 1 MiB floor; the v1 cycle
// on the memory store then filled that MiB with tombstones and got 503 relay_queue_full.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { CYCLE_ENV, fitOf, MAX_BENCH_NODES, NO_REFUSALS, V1_CYCLE_ENV } from '../../bench/relay-env.js';

const NO_CGROUP = { TOKENPLACE_RELAY_CGROUP_DIR: join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cgroup', 'v2-max') };
/** A modest heap: V8's default on a machine with a few GB of memory is at least this. */
const HEAP = 2 * 1024 ** 3;

describe('bench relay environments', () => {
  it('the flat-out cycles (legacy and v1, memory store) keep their byte cap', () => {
    for (const env of [
      { ...NO_REFUSALS, ...CYCLE_ENV },
      { ...NO_REFUSALS, ...CYCLE_ENV, ...V1_CYCLE_ENV },
    ]) {
      const plan = fitOf({ ...env, ...NO_CGROUP }, HEAP);
      assert.equal(plan.lowered, false, JSON.stringify(plan));
    }
  });
  it('raising the v1 tombstone cap that far is what the fit refuses (the check the bench makes at start)', () => {
    const plan = fitOf({ ...NO_REFUSALS, ...CYCLE_ENV, ...V1_CYCLE_ENV, TOKENPLACE_API_V1_MAX_TOMBSTONES: '2000000', ...NO_CGROUP }, HEAP);
    assert.equal(plan.entryCapsTooLarge, true);
    assert.equal(plan.chosenStoredBytes, 1024 * 1024);
  });
  it('one source may register every node a step simulates (legacy and v1 shares)', () => {
    const config = loadConfig({ ...NO_REFUSALS, ...CYCLE_ENV, ...V1_CYCLE_ENV });
    assert.ok(config.maxNodesPerSource >= MAX_BENCH_NODES, `legacy share ${config.maxNodesPerSource}`);
    assert.ok(config.maxNodes >= MAX_BENCH_NODES);
    assert.ok(config.v1MaxNodesPerSource >= MAX_BENCH_NODES, `v1 share ${config.v1MaxNodesPerSource}`);
  });
});
