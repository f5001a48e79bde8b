import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEAP_GROWING_PERCENT, boundHeapGrowth } from '../../src/memory/heap-growth.js';

describe('heap growth bound', () => {
  it('applies once and stays applied (the flag is process-wide)', () => {
    assert.ok(HEAP_GROWING_PERCENT > 0 && HEAP_GROWING_PERCENT < 100);
    assert.equal(boundHeapGrowth(), true);
    assert.equal(boundHeapGrowth(), true);
  });
});
