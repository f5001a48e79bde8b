// The byte cap fits the pod: the cgroup limit is read from fixture files (v2 and v1), and the
// pure fit lowers the byte cap only when the caps could exceed the limit.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configWith } from '../../src/config.js';
import { BASE_BYTES, MIN_STORED_BYTES, PER_ENTRY_BYTES, entryCapsOf, fitByteCap, readCgroupMemoryLimit } from '../../src/memory/fit.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cgroup');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('cgroup memory limit', () => {
  it('reads cgroup v2 memory.max, "max" is no limit', () => {
    assert.equal(readCgroupMemoryLimit(join(FIXTURES, 'v2-512mi')), 512 * MiB);
    assert.equal(readCgroupMemoryLimit(join(FIXTURES, 'v2-max')), null);
  });
  it('falls back to cgroup v1 memory.limit_in_bytes; the huge v1 "unlimited" value is no limit', () => {
    assert.equal(readCgroupMemoryLimit(join(FIXTURES, 'v1-256mi')), 256 * MiB);
    assert.equal(readCgroupMemoryLimit(join(FIXTURES, 'v1-unlimited')), null);
  });
  it('no cgroup files: no limit', () => {
    assert.equal(readCgroupMemoryLimit(join(FIXTURES, 'does-not-exist')), null);
  });
});

describe('fitting the byte cap', () => {
  const defaults = configWith();
  const entries = entryCapsOf(defaults);
  const base = { heapLimitBytes: 4 * GiB, maxStoredBytes: defaults.maxStoredBytes, entries, rateLimitKeys: defaults.rateLimitMaxKeys, storeHoldsEntries: true };

  it('the defaults fit the chart’s 512Mi limit unchanged', () => {
    const plan = fitByteCap({ ...base, limitBytes: 512 * MiB });
    assert.equal(plan.lowered, false, JSON.stringify(plan));
    assert.equal(plan.chosenStoredBytes, defaults.maxStoredBytes);
  });

  it('a 256Mi limit lowers the byte cap to what is left after the base and the entry overhead', () => {
    const plan = fitByteCap({ ...base, limitBytes: 256 * MiB, entries: 10_000, rateLimitKeys: 0 });
    assert.equal(plan.lowered, true);
    assert.equal(plan.chosenStoredBytes, 256 * MiB - BASE_BYTES - 10_000 * PER_ENTRY_BYTES);
    assert.ok(plan.chosenStoredBytes + plan.overheadBytes <= 256 * MiB);
  });

  it('the heap limit binds too (the memory store lives on the heap)', () => {
    const plan = fitByteCap({ ...base, limitBytes: null, heapLimitBytes: 300 * MiB, entries: 0, rateLimitKeys: 0 });
    assert.equal(plan.chosenStoredBytes, 300 * MiB - BASE_BYTES);
  });

  it('entry caps that do not fit at all: the floor, flagged', () => {
    const plan = fitByteCap({ ...base, limitBytes: 128 * MiB, entries: 1_000_000 });
    assert.equal(plan.chosenStoredBytes, MIN_STORED_BYTES);
    assert.equal(plan.entryCapsTooLarge, true);
  });

  it('no limit and a large heap: unchanged; the Redis store (entries elsewhere): unchanged', () => {
    assert.equal(fitByteCap({ ...base, limitBytes: null }).lowered, false);
    assert.equal(fitByteCap({ ...base, limitBytes: 64 * MiB, storeHoldsEntries: false }).lowered, false);
  });
});

describe('at start', () => {
  it('a relay in a 256Mi cgroup lowers its byte cap and logs one memory.fit line with the values', async () => {
    const { Writable } = await import('node:stream');
    const { createLogger } = await import('../../src/core/logger.js');
    const { startServer } = await import('../../src/server.js');
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _e, cb) => {
        lines.push(chunk.toString());
        cb();
      },
    });
    const relay = await startServer({
      config: configWith({ port: 0, logLevel: 'info', cgroupDir: join(FIXTURES, 'v1-256mi') }),
      logger: createLogger('info', sink),
    });
    try {
      const fit = lines.map((l) => JSON.parse(l)).filter((l) => l.message === 'memory.fit');
      assert.equal(fit.length, 1, lines.join(''));
      assert.equal(fit[0].memory_limit_bytes, 256 * MiB);
      assert.equal(fit[0].lowered, true);
      assert.ok(fit[0].max_stored_bytes < configWith().maxStoredBytes);
      assert.equal(relay.app.relay.store.limits.maxStoredBytes, fit[0].max_stored_bytes);
      assert.equal(relay.app.relay.config.maxStoredBytes, fit[0].max_stored_bytes);
    } finally {
      await relay.shutdown('test');
    }
  });
});
