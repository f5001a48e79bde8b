// The legacy memory store keeps no expiry time per queued request or stored answer: it derives it
// from when the record was made plus the store's TTL. These pin the boundaries that derivation
// must keep (alive one millisecond before, gone at the instant) and the bytes it releases.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../../src/store/memory.js';
import { CONTRACT_LIMITS, request } from '../../store/contract.js';

const T0 = Date.UTC(2026, 0, 1);
const { requestTtlMs, responseTtlMs } = CONTRACT_LIMITS;

describe('legacy memory store record expiry', () => {
  it('a queued request is claimable until enqueue time + TTL and swept at that instant, its bytes released', async () => {
    const store = new MemoryStore(CONTRACT_LIMITS);
    await store.legacy.register('n1', T0);
    await store.legacy.register('n1', T0 + requestTtlMs - 1); // keep the node alive throughout
    assert.equal((await store.legacy.enqueue('n1', request('c1', 'one'), T0)).ok, true);
    assert.equal((await store.legacy.enqueue('n1', request('c2', 'two'), T0 + 10)).ok, true);
    const held = (await store.stats(T0)).storedBytes;
    assert.ok(held > 0);
    const early = await store.legacy.claim('n1', 1, T0 + requestTtlMs - 1);
    assert.deepEqual(
      early.map((r) => [r.clientKey, r.enqueuedAt]),
      [['c1', T0]],
    );
    const swept = await store.legacy.expire(T0 + requestTtlMs + 10);
    assert.equal(swept.requests, 1, 'the second request expired at its own enqueue time + TTL');
    assert.deepEqual(await store.legacy.claim('n1', 5, T0 + requestTtlMs + 10), []);
    await store.close();
  });

  it('a stored answer is retrievable until store time + TTL, then neither retrieved nor counted', async () => {
    const store = new MemoryStore(CONTRACT_LIMITS);
    await store.legacy.register('n1', T0);
    for (const client of ['c1', 'c2']) {
      assert.equal((await store.legacy.enqueue('n1', request(client), T0)).ok, true);
    }
    assert.equal((await store.legacy.claim('n1', 2, T0 + 1)).length, 2);
    const empty = (await store.stats(T0 + 1)).storedBytes;
    for (const client of ['c1', 'c2']) {
      assert.equal((await store.legacy.complete(client, { chatHistory: `answer-${client}`, cipherkey: 'k', iv: 'i' }, T0 + 2)).ok, true);
    }
    const got = await store.legacy.retrieve('c1', T0 + 2 + responseTtlMs - 1);
    assert.deepEqual(got, { chatHistory: 'answer-c1', cipherkey: 'k', iv: 'i', storedAt: T0 + 2, requestEnqueuedAt: T0 });
    assert.equal((await store.legacy.expire(T0 + 2 + responseTtlMs - 1)).responses, 0);
    assert.equal((await store.legacy.expire(T0 + 2 + responseTtlMs)).responses, 1);
    assert.equal(await store.legacy.retrieve('c2', T0 + 2 + responseTtlMs), null);
    assert.ok((await store.stats(T0 + 2 + responseTtlMs)).storedBytes < empty, 'the answers and the job records are released');
    await store.close();
  });
});
