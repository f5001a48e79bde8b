import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shareOf, SourceLedger } from '../../src/core/source-ledger.js';

test('a source over its share is refused before the cap, others still fit', () => {
  const ledger = new SourceLedger(100, 10);
  ledger.add('a', 10);
  assert.deepEqual(ledger.check('a', 1), { ok: false, over: 'share' });
  assert.deepEqual(ledger.check('b', 10), { ok: true });
  assert.equal(ledger.total, 10);
});

test('the cap stays the last line when many sources fill it', () => {
  const ledger = new SourceLedger(25, 10);
  ledger.add('a', 10);
  ledger.add('b', 10);
  assert.deepEqual(ledger.check('c', 6), { ok: false, over: 'cap' });
  assert.ok(ledger.fits('c', 5));
});

test('releases bring a source back under its share and never go below zero', () => {
  const ledger = new SourceLedger(100, 10);
  ledger.add('a', 10);
  ledger.add('a', -4);
  assert.equal(ledger.used('a'), 6);
  ledger.add('a', -50);
  assert.equal(ledger.used('a'), 0);
  assert.equal(ledger.total, 0);
  assert.equal(ledger.sources, 0);
});

test('shareOf takes a fraction with a floor and never exceeds the cap', () => {
  assert.equal(shareOf(1000, 0.05), 50);
  assert.equal(shareOf(10, 0.05), 1);
  assert.equal(shareOf(10, 0.05, 4), 4);
  assert.equal(shareOf(3, 0.5, 8), 3);
});
