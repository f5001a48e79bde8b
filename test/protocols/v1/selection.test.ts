// The selection policy as a pure function (the stores run it, or its Lua twin, on their state;
// the shared contract checks both agree). Here: the rank, the exploration turn, source turns
// before load, and what the result says to remember.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXPLORE_EVERY, chooseRank, rankOf, selectBestFit, type SelectionCandidate, type SelectionState } from '../../../src/protocols/v1/selection.js';
import { caps } from '../../store/contract-v1.js';

const QUERY = { model: 'm', contextTier: '8k-fast' } as const;
const MAX_QUEUE = 3;

function node(key: string, seq: number, source: string, extra: Partial<SelectionCandidate> = {}): SelectionCandidate {
  return { key, seq, source, proven: false, polled: true, capabilities: caps(), queueDepth: 0, inflight: 0, ...extra };
}

/** Runs `n` picks, carrying the state from one to the next as a store does. */
function run(candidates: SelectionCandidate[], n: number): string[] {
  let picks = 0;
  let lastSource = '';
  const cursors = new Map<string, number>();
  const out: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const state: SelectionState = { picks, lastSource, cursorOf: (s) => cursors.get(s) ?? 0 };
    const { selection, picked } = selectBestFit(candidates, QUERY, state, MAX_QUEUE);
    out.push(selection.ok ? selection.nodeKey : selection.reason);
    if (picked !== undefined) {
      picks = picked.picks;
      lastSource = picked.source;
      cursors.set(picked.source, picked.seq);
    }
  }
  return out;
}

describe('v1 selection policy', () => {
  it('ranks proven, then polled, then registered-only', () => {
    assert.equal(rankOf(node('a', 1, 's', { proven: true })), 0);
    assert.equal(rankOf(node('a', 1, 's')), 1);
    assert.equal(rankOf(node('a', 1, 's', { polled: false })), 2);
    assert.equal(rankOf({ key: 'a', seq: 1, capabilities: caps(), queueDepth: 0, inflight: 0 }), 2, 'nothing said: nothing proved');
  });

  it('explores rank 1 on every EXPLORE_EVERY-th pick, and only rank 1', () => {
    assert.equal(chooseRank(new Set([0, 1, 2]), EXPLORE_EVERY), 1);
    assert.equal(chooseRank(new Set([0, 1, 2]), EXPLORE_EVERY + 1), 0);
    assert.equal(chooseRank(new Set([0, 2]), EXPLORE_EVERY), 0, 'never-polled nodes are not explored');
    assert.equal(chooseRank(new Set([2]), 1), 2, 'the last resort when nothing else fits');
  });

  it('many idle unproven keys get the exploration share, not a share per key', () => {
    const junk = Array.from({ length: 80 }, (_, i) => node(`junk${i}`, i + 2, `10.0.0.${30 + (i % 5)}`));
    const got = run([node('honest', 1, '10.0.0.3', { proven: true, queueDepth: 2 }), ...junk], 400);
    assert.equal(got.filter((k) => k === 'honest').length, 400 - 400 / EXPLORE_EVERY);
  });

  it('turns between sources come before load; load decides within a source', () => {
    const got = run(
      [node('busy', 1, 'a', { proven: true, queueDepth: 2 }), node('idle1', 2, 'b', { proven: true }), node('idle2', 3, 'b', { proven: true, inflight: 1 })],
      6,
    );
    assert.deepEqual(got, ['busy', 'idle1', 'busy', 'idle1', 'busy', 'idle1']);
  });

  it('the best fit tier is taken within the rank, so spillover is relative to the chosen rank', () => {
    const big = node('big', 1, 'a', { proven: true, capabilities: caps(['m'], '64k-full') });
    const small = node('small', 2, 'b');
    const { selection } = selectBestFit([big, small], QUERY, { picks: 0, lastSource: '', cursorOf: () => 0 }, MAX_QUEUE);
    assert.equal(selection.ok && selection.nodeKey, 'big', 'an answer beats a closer fit');
    assert.equal(selection.ok && selection.spillover, true);
    assert.equal(selection.ok && selection.eligibleCount, 2);
  });

  it('a full queue is no candidate; nothing picked leaves nothing to remember', () => {
    const out = selectBestFit(
      [node('full', 1, 'a', { proven: true, queueDepth: MAX_QUEUE })],
      QUERY,
      { picks: 5, lastSource: 'a', cursorOf: () => 1 },
      MAX_QUEUE,
    );
    assert.equal(!out.selection.ok && out.selection.reason, 'no_available_capacity');
    assert.equal(out.picked, undefined);
    assert.deepEqual(run([node('full', 1, 'a', { queueDepth: MAX_QUEUE }), node('late', 2, 'b', { polled: false })], 2), ['late', 'late']);
  });
});
