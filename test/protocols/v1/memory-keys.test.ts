// The v1 memory store keys its maps by a digest of the client key (not a second copy of it): two
// keys must never share a record, even keys a UTF-8 encoding would make equal (lone surrogates).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../../src/store/memory.js';
import { V1_CONTRACT_LIMITS, caps, v1Request } from '../../store/contract-v1.js';

const T0 = Date.UTC(2026, 0, 1);

describe('v1 memory store request keys', () => {
  it('client keys that differ only in a lone surrogate hold separate requests and answers', async () => {
    const store = new MemoryStore(V1_CONTRACT_LIMITS);
    const a = 'client-\ud800';
    const b = 'client-\ud801'; // the same bytes as `a` in UTF-8 (both become U+FFFD)
    assert.equal(Buffer.from(a).equals(Buffer.from(b)), true);
    // One node each: a node's queue is keyed by request id alone.
    for (const node of ['n1', 'n2']) assert.equal((await store.v1.registerNode(node, caps(), `d-${node}`, T0)).ok, true);
    assert.equal((await store.v1.admitRequest(v1Request('n1', a, 'r1', { ciphertext: 'for-a' }), T0)).ok, true);
    const second = await store.v1.admitRequest(v1Request('n2', b, 'r1', { ciphertext: 'for-b' }), T0);
    assert.equal(second.ok, true);
    assert.equal(second.ok && second.duplicate, undefined, 'b is a new request, not a retry of a');
    for (const [node, client, text] of [
      ['n1', a, 'answer-a'],
      ['n2', b, 'answer-b'],
    ] as const) {
      const claimed = await store.v1.claimRequest(node, T0 + 1, { credentialDigest: `d-${node}` });
      assert.equal(claimed.ok && claimed.request?.clientKey, client);
      const accepted = await store.v1.acceptResponse(client, 'r1', { ciphertext: text, cipherkey: 'k', iv: 'i' }, T0 + 2, { credentialDigest: `d-${node}` });
      assert.equal(accepted.ok && accepted.duplicate, false);
    }
    const gotA = await store.v1.retrieveResponse(a, 'r1', T0 + 3);
    const gotB = await store.v1.retrieveResponse(b, 'r1', T0 + 3);
    assert.equal(gotA.kind === 'response' && gotA.response.ciphertext, 'answer-a');
    assert.equal(gotB.kind === 'response' && gotB.response.clientKey, b);
    assert.equal(gotB.kind === 'response' && gotB.response.ciphertext, 'answer-b');
    await store.close();
  });
});
