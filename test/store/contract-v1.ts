// The API v1 part of the store contract: every backend runs it unchanged (memory in
// memory-store.test.ts, Redis in redis-store.test.ts). Time is passed to each
// transition explicitly, so leases, deadlines and tombstones are tested without waiting.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { RelayStore, StoreLimits, V1Capabilities, V1Ended, V1NewRequest } from '../../src/store/types.js';
import { v1ResponseWakeKey, v1WorkWakeKey } from '../../src/protocols/v1/types.js';
import { CONTRACT_LIMITS, type StoreFactory } from './contract.js';

export const V1_CONTRACT_LIMITS: StoreLimits = {
  ...CONTRACT_LIMITS,
  maxNodes: 5,
  maxQueuePerClient: 3,
  v1LeaseMs: 30_000,
  v1InflightLeaseMs: 20_000,
  v1DeadlineMs: 120_000,
  v1ResponseTtlMs: 50_000,
  v1TerminalTtlMs: 100_000,
  v1ControlTombstoneTtlMs: 40_000,
  v1MaxQueuePerNode: 3,
  v1MaxRequests: 8,
  v1MaxTombstones: 50,
  v1AckReplayMs: 10_000,
};

const T0 = Date.UTC(2026, 0, 1);

export function caps(models: string[] = ['m'], tier: V1Capabilities['contextTier'] = '8k-fast', maxConcurrency = 1): V1Capabilities {
  return {
    supportedModelIds: models,
    contextTier: tier,
    maxContextTokens: tier === '8k-fast' ? 8192 : 65536,
    defaultOutputReservation: 512,
    maxOutputTokens: 1024,
    maxConcurrency,
    backendClass: 'cpu',
  };
}

export function v1Request(node: string, client: string, id: string, overrides: Partial<V1NewRequest> = {}): V1NewRequest {
  return {
    nodeKey: node,
    clientKey: client,
    requestId: id,
    cancelTokenDigest: `cancel-${id}`,
    ciphertext: `ct-${id}`,
    cipherkey: `ck-${id}`,
    iv: `iv-${id}`,
    ...overrides,
  };
}

const DIGEST = (node: string) => `digest-${node}`;
const answer = (id: string) => ({ ciphertext: `answer-${id}`, cipherkey: `ak-${id}`, iv: `ai-${id}` });
const count = (ended: V1Ended[], outcome: string, reason?: string) =>
  ended.filter((e) => e.outcome === outcome && (reason === undefined || e.reason === reason)).length;

export function storeContractV1(backend: string, factory: StoreFactory, options: { setup?: () => Promise<void>; teardown?: () => Promise<void> } = {}): void {
  describe(`RelayStore contract, API v1: ${backend}`, () => {
    let store: RelayStore;
    const fresh = async (limits: Partial<StoreLimits> = {}): Promise<RelayStore> => {
      await store?.close();
      store = await factory({ ...V1_CONTRACT_LIMITS, ...limits });
      return store;
    };
    const register = async (node: string, at = T0, capabilities = caps()) => {
      const out = await store.v1.registerNode(node, capabilities, DIGEST(node), at);
      assert.equal(out.ok, true);
      return out;
    };
    const admit = async (node: string, client: string, id: string, at = T0, overrides: Partial<V1NewRequest> = {}) =>
      store.v1.admitRequest(v1Request(node, client, id, overrides), at);
    const claim = async (node: string, at: number) => {
      const out = await store.v1.claimRequest(node, at);
      assert.equal(out.ok, true);
      return out.ok ? out : assert.fail('claim failed');
    };
    /** Node n1 (two slots) claims r1 and r2 of client c1; each is answered in `order`, 1 ms apart. */
    const answerTwo = async (order: [string, string] = ['r1', 'r2']) => {
      await register('n1', T0, caps(['m'], '8k-fast', 2));
      await admit('n1', 'c1', 'r1');
      await admit('n1', 'c1', 'r2');
      await claim('n1', T0);
      await claim('n1', T0);
      await store.v1.acceptResponse('c1', order[0], answer(order[0]), T0 + 1);
      await store.v1.acceptResponse('c1', order[1], answer(order[1]), T0 + 2);
    };
    if (options.setup) before(options.setup);
    beforeEach(async () => {
      await fresh();
    });
    after(async () => {
      await store?.close();
      await options.teardown?.();
    });

    describe('registration lease', () => {
      it('issues the credential once; re-registering renews the lease and keeps the credential', async () => {
        assert.deepEqual(await store.v1.registerNode('n1', caps(), DIGEST('n1'), T0), { ok: true, created: true, credentialIssued: true });
        assert.deepEqual(await store.v1.renewLease('n1', null, T0 + 1000, 0), { ok: true });
        assert.deepEqual(await store.v1.registerNode('n1', caps(['m', 'x']), 'another-digest', T0 + 20_000), {
          ok: true,
          created: false,
          credentialIssued: false,
        });
        // Still the first digest: the second one cannot unregister it.
        assert.deepEqual(await store.v1.unregisterNode('n1', 'another-digest', T0 + 20_000), { ok: false, reason: 'forbidden' });
        assert.equal((await store.stats(T0 + 45_000)).v1HealthyNodes, 1, 'lease renewed at T0+20s runs to T0+50s');
        assert.equal((await store.stats(T0 + 50_000)).v1HealthyNodes, 0);
      });

      it('a re-register before the first poll re-issues the credential (its first reply may have been lost)', async () => {
        await register('n1');
        assert.deepEqual(await store.v1.registerNode('n1', caps(), 'second', T0 + 1000), { ok: true, created: false, credentialIssued: true });
        assert.deepEqual(await store.v1.unregisterNode('n1', DIGEST('n1'), T0 + 2000), { ok: false, reason: 'forbidden' }, 'the lost one is void');
        assert.deepEqual(await store.v1.unregisterNode('n1', 'second', T0 + 2000), { ok: true, removed: true, ended: [] });
        // Never to another address.
        await store.v1.registerNode('n2', caps(), DIGEST('n2'), T0, { source: '10.0.0.1' });
        assert.deepEqual(await store.v1.registerNode('n2', caps(), 'stolen', T0 + 1000, { source: '10.0.0.2' }), {
          ok: true,
          created: false,
          credentialIssued: false,
        });
        assert.deepEqual(await store.v1.registerNode('n2', caps(), 'again', T0 + 1000, { source: '10.0.0.1' }), {
          ok: true,
          created: false,
          credentialIssued: true,
        });
      });

      it('polls renew the lease for the hold as well; an unknown node is not found', async () => {
        await register('n1');
        assert.deepEqual(await store.v1.renewLease('n1', null, T0 + 25_000, 10_000), { ok: true });
        assert.equal((await store.stats(T0 + 60_000)).v1HealthyNodes, 1);
        assert.equal((await store.stats(T0 + 65_000)).v1HealthyNodes, 0);
        assert.deepEqual(await store.v1.renewLease('ghost', null, T0, 0), { ok: false, reason: 'node_not_found' });
      });

      it('a poll may replace the capabilities', async () => {
        await register('n1', T0, caps(['a']));
        assert.equal((await store.v1.selectNode({ model: 'b', contextTier: '8k-fast' }, T0)).ok, false);
        await store.v1.renewLease('n1', caps(['b']), T0, 0);
        assert.equal((await store.v1.selectNode({ model: 'b', contextTier: '8k-fast' }, T0)).ok, true);
      });

      it('refuses new nodes beyond maxNodes, never a known one', async () => {
        for (let i = 0; i < 5; i += 1) await register(`n${i}`);
        assert.deepEqual(await store.v1.registerNode('extra', caps(), 'd', T0), { ok: false, reason: 'relay_node_limit' });
        assert.equal((await store.v1.registerNode('n0', caps(), 'd', T0)).ok, true);
      });

      it('v1.expire evicts lapsed nodes and cancels their queue', async () => {
        await register('n1');
        assert.equal((await admit('n1', 'c1', 'r1')).ok, true);
        const early = await store.v1.expire(T0 + 29_000);
        assert.equal(early.evictedNodes, 0);
        const report = await store.v1.expire(T0 + 30_000);
        assert.equal(report.evictedNodes, 1);
        assert.deepEqual(report.ended, [{ outcome: 'cancelled', reason: 'server_unregistered' }]);
        assert.equal((await store.stats(T0 + 30_000)).v1Nodes, 0);
        const gone = await store.v1.retrieveResponse('c1', 'r1', T0 + 31_000);
        assert.equal(gone.kind, 'terminal');
        assert.equal(gone.kind === 'terminal' && gone.reason, 'server_unregistered');
      });

      it('a node busy with in-flight work whose lease the control poll renews is not evicted', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await claim('n1', T0 + 1000); // in-flight lease to T0+21s, node lease to T0+31s
        assert.equal((await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), false, T0 + 20_000)).ok, true); // in flight to T0+40s
        assert.equal((await store.v1.expire(T0 + 35_000)).evictedNodes, 0, 'busy, not dead');
        assert.equal((await store.stats(T0 + 35_000)).v1HealthyNodes, 1);
        assert.equal((await store.v1.expire(T0 + 40_000)).evictedNodes, 1, 'neither lease running');
      });
    });

    describe('admission', () => {
      it('sets an absolute deadline and queues for a healthy node only', async () => {
        assert.deepEqual(await admit('ghost', 'c1', 'r0'), { ok: false, reason: 'node_not_found' });
        await register('n1');
        assert.deepEqual(await admit('n1', 'c1', 'r1', T0 + 5000), { ok: true, deadlineAt: T0 + 125_000, queueDepth: 1 });
        assert.deepEqual(await admit('n1', 'c1', 'r2', T0 + 31_000), { ok: false, reason: 'node_not_found' }, 'lease lapsed');
      });

      it('request ids bind: a known id is refused for that client, and an active id on that node', async () => {
        await register('n1');
        await register('n2');
        assert.equal((await admit('n1', 'c1', 'r1')).ok, true);
        assert.deepEqual(await admit('n2', 'c1', 'r1'), { ok: false, reason: 'request_id_conflict' });
        assert.deepEqual(await admit('n1', 'c2', 'r1'), { ok: false, reason: 'request_id_conflict' });
        assert.equal((await admit('n2', 'c2', 'r1')).ok, true, 'other client, other node');
        // An ended id stays taken while its tombstone lives (the same bytes are a retry).
        await store.v1.cancelRequest('c1', 'r1', 'cancel-r1', 'cancelled', 'requester_cancelled', T0);
        assert.deepEqual(await admit('n1', 'c1', 'r1', T0 + 1000, { ciphertext: 'other' }), { ok: false, reason: 'request_id_conflict' });
        assert.deepEqual(await admit('n1', 'c1', 'r1', T0 + 1000), { ok: true, deadlineAt: T0 + 120_000, queueDepth: 0, duplicate: true });
      });

      it('enforces the per-node queue, per-client, total and byte caps', async () => {
        await register('n1');
        await register('n2');
        await register('n3');
        for (const id of ['a', 'b', 'c']) assert.equal((await admit('n1', `c-${id}`, id)).ok, true);
        assert.deepEqual(await admit('n1', 'c-d', 'd'), { ok: false, reason: 'node_queue_full' });
        for (const id of ['e', 'f', 'g']) assert.equal((await admit('n2', 'same', id)).ok, true);
        assert.deepEqual(await admit('n3', 'same', 'h'), { ok: false, reason: 'client_queue_full' });
        assert.equal((await admit('n3', 'c-i', 'i')).ok, true);
        assert.equal((await admit('n3', 'c-j', 'j')).ok, true);
        assert.deepEqual(await admit('n3', 'c-k', 'k'), { ok: false, reason: 'relay_queue_full' }, 'v1MaxRequests = 8');
        await fresh({ maxStoredBytes: 2000 });
        await register('n1');
        assert.deepEqual(await admit('n1', 'c1', 'big', T0, { ciphertext: 'x'.repeat(2000) }), { ok: false, reason: 'relay_queue_full' });
      });

      it('admission wakes the node waiting for work', async () => {
        await register('n1');
        const waiter = store.watch('work', v1WorkWakeKey('n1'));
        const woke = waiter.wait(2000);
        await admit('n1', 'c1', 'r1');
        assert.equal(await woke, true);
        waiter.close();
      });
    });

    describe('ownership (sticky, opt-in)', () => {
      it('a node that presented its credential on a poll is bound: impostors cannot poll, re-register, change capabilities or answer', async () => {
        await register('n1');
        assert.deepEqual(await store.v1.renewLease('n1', null, T0, 0, { credentialDigest: 'wrong' }), { ok: false, reason: 'invalid_control_credential' });
        assert.deepEqual(await store.v1.renewLease('n1', null, T0, 0, { credentialDigest: DIGEST('n1') }), { ok: true });
        await admit('n1', 'c1', 'r1');
        const before = await store.snapshot();
        // The impostor holds only the node's public key (and the shared token).
        assert.deepEqual(await store.v1.renewLease('n1', caps(['evil']), T0 + 1, 0), { ok: false, reason: 'node_credential_required' });
        assert.deepEqual(await store.v1.claimRequest('n1', T0 + 1), { ok: false, reason: 'node_credential_required' });
        assert.deepEqual(await store.v1.claimRequest('n1', T0 + 1, { credentialDigest: 'wrong' }), { ok: false, reason: 'invalid_control_credential' });
        assert.deepEqual(await store.v1.registerNode('n1', caps(['evil']), 'fresh', T0 + 1), { ok: false, reason: 'node_credential_required' });
        assert.deepEqual(await store.v1.registerNode('n1', caps(['evil']), 'fresh', T0 + 1, { credentialDigest: 'wrong' }), {
          ok: false,
          reason: 'invalid_control_credential',
        });
        assert.deepEqual(await store.snapshot(), before, 'refusals change nothing');
        // The owner still gets its work and answers it; an answer without its credential is refused.
        const mine = await store.v1.claimRequest('n1', T0 + 2, { credentialDigest: DIGEST('n1') });
        assert.equal(mine.ok && mine.request?.requestId, 'r1');
        assert.deepEqual(await store.v1.acceptResponse('c1', 'r1', answer('forged'), T0 + 3), { ok: false, reason: 'node_credential_required' });
        assert.deepEqual(await store.v1.acceptResponse('c1', 'r1', answer('forged'), T0 + 3, { credentialDigest: 'wrong' }), {
          ok: false,
          reason: 'invalid_control_credential',
        });
        assert.deepEqual(await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 4, { credentialDigest: DIGEST('n1') }), {
          ok: true,
          duplicate: false,
          ended: [{ outcome: 'completed', reason: 'completed' }],
        });
        const got = await store.v1.retrieveResponse('c1', 'r1', T0 + 5);
        assert.equal(got.kind === 'response' && got.response.ciphertext, 'answer-r1');
        // Capabilities change only with the credential.
        assert.deepEqual(await store.v1.registerNode('n1', caps(['m', 'x']), 'fresh', T0 + 6, { credentialDigest: DIGEST('n1') }), {
          ok: true,
          created: false,
          credentialIssued: false,
        });
      });

      it('binding also happens on a re-register or an answer with the credential; unbound nodes keep upstream behaviour', async () => {
        await register('n1');
        await register('n2');
        assert.equal((await store.v1.registerNode('n1', caps(), 'x', T0 + 1, { credentialDigest: DIGEST('n1') })).ok, true);
        assert.deepEqual(await store.v1.renewLease('n1', null, T0 + 2, 0), { ok: false, reason: 'node_credential_required' });
        // n2 never presents its credential: anyone with its key may poll as it (upstream HEAD).
        assert.deepEqual(await store.v1.renewLease('n2', caps(['m', 'y']), T0 + 2, 0), { ok: true });
        await admit('n2', 'c1', 'r1');
        await claim('n2', T0 + 3);
        assert.deepEqual(await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 4, { credentialDigest: DIGEST('n2') }), {
          ok: true,
          duplicate: false,
          ended: [{ outcome: 'completed', reason: 'completed' }],
        });
        assert.deepEqual(await store.v1.renewLease('n2', null, T0 + 5, 0), { ok: false, reason: 'node_credential_required' }, 'the answer bound it');
      });

      it('an answer naming another node than the claimer is refused', async () => {
        await register('n1');
        await register('n2');
        await admit('n1', 'c1', 'r1');
        await claim('n1', T0);
        assert.deepEqual(await store.v1.acceptResponse('c1', 'r1', answer('x'), T0 + 1, { nodeKey: 'n2', credentialDigest: DIGEST('n2') }), {
          ok: false,
          reason: 'invalid_control_credential',
        });
        assert.equal((await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 2, { nodeKey: 'n1' })).ok, true);
      });
    });

    describe('answers only for claimed requests', () => {
      it('an answer for a queued, never claimed request is refused and changes nothing', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        const before = await store.snapshot();
        assert.deepEqual(await store.v1.acceptResponse('c1', 'r1', answer('forged'), T0 + 1), { ok: false, reason: 'request_not_claimed' });
        assert.deepEqual(await store.snapshot(), before);
        const claimed = await claim('n1', T0 + 2);
        assert.equal(claimed.request?.ciphertext, 'ct-r1', 'the node still gets the real request');
      });
    });

    describe('lapsed claims', () => {
      it('a claim whose in-flight lease lapses goes back to the queue; the next lapses end it as claimer_lost', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await admit('n1', 'c2', 'r2');
        await claim('n1', T0);
        // No control poll: the 20 s in-flight lease lapses; the node still polls (its lease holds).
        await store.v1.renewLease('n1', null, T0 + 19_000, 0);
        const report = await store.v1.expire(T0 + 20_000);
        assert.equal(report.requeued, 1);
        assert.deepEqual(report.ended, []);
        const again = await claim('n1', T0 + 20_500);
        assert.equal(again.request?.requestId, 'r1', 'back at the head of the queue, ahead of r2');
        assert.equal(again.request?.ciphertext, 'ct-r1');
        assert.equal((await store.v1.retrieveResponse('c1', 'r1', T0 + 21_000)).kind, 'pending');
        await store.v1.renewLease('n1', null, T0 + 40_000, 0);
        assert.equal((await store.v1.expire(T0 + 40_500)).requeued, 1, 'second lapse');
        await claim('n1', T0 + 41_000);
        await store.v1.renewLease('n1', null, T0 + 60_000, 0);
        const last = await store.v1.expire(T0 + 61_000);
        assert.deepEqual(last.ended, [{ outcome: 'expired', reason: 'claimer_lost' }]);
        const gone = await store.v1.retrieveResponse('c1', 'r1', T0 + 61_500);
        assert.deepEqual(gone.kind === 'terminal' ? [gone.status, gone.reason] : gone, ['expired', 'claimer_lost']);
      });

      it('a lapsed, requeued claim may still be answered by its slow claimer; control polls keep a claim', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await admit('n1', 'c2', 'r2');
        await claim('n1', T0);
        await claim('n1', T0);
        await store.v1.renewInflight('n1', 'r2', DIGEST('n1'), false, T0 + 15_000);
        await store.v1.renewLease('n1', null, T0 + 19_000, 0);
        assert.equal((await store.v1.expire(T0 + 21_000)).requeued, 1, 'only r1: r2 was control-polled');
        assert.deepEqual(await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 22_000), {
          ok: true,
          duplicate: false,
          ended: [{ outcome: 'completed', reason: 'completed' }],
        });
        assert.equal((await claim('n1', T0 + 22_500)).request, null, 'answered: out of the queue');
        assert.equal((await store.stats(T0 + 22_500)).v1Queued, 0);
      });
    });

    describe('idempotent admission', () => {
      it('the same id with the same bytes answers the first admission; other bytes stay a conflict', async () => {
        await register('n1');
        const first = await admit('n1', 'c1', 'r1', T0);
        assert.deepEqual(first, { ok: true, deadlineAt: T0 + 120_000, queueDepth: 1 });
        const before = await store.snapshot();
        assert.deepEqual(await admit('n1', 'c1', 'r1', T0 + 1000), { ok: true, deadlineAt: T0 + 120_000, queueDepth: 1, duplicate: true });
        assert.deepEqual(await store.snapshot(), before, 'a retry adds nothing');
        assert.deepEqual(await admit('n1', 'c1', 'r1', T0 + 1000, { ciphertext: 'other' }), { ok: false, reason: 'request_id_conflict' });
        assert.deepEqual(await admit('n1', 'c1', 'r1', T0 + 1000, { cancelTokenDigest: 'other' }), { ok: false, reason: 'request_id_conflict' });
        await claim('n1', T0 + 2000);
        await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 3000);
        assert.equal((await admit('n1', 'c1', 'r1', T0 + 4000)).ok, true, 'still the same request once answered');
        assert.equal((await store.v1.retrieveResponse('c1', 'r1', T0 + 5000)).kind, 'response');
      });
    });

    describe('per-source shares', () => {
      const from = (source: string) => ({ source });
      it('a source over its node share is refused; another source still registers', async () => {
        await fresh({ maxNodes: 10, v1MaxNodesPerSource: 2 });
        for (const n of ['a1', 'a2']) assert.equal((await store.v1.registerNode(n, caps(), DIGEST(n), T0, from('10.0.0.1'))).ok, true);
        assert.deepEqual(await store.v1.registerNode('a3', caps(), DIGEST('a3'), T0, from('10.0.0.1')), { ok: false, reason: 'source_node_share_exceeded' });
        assert.equal((await store.v1.registerNode('h1', caps(), DIGEST('h1'), T0, from('10.0.0.2'))).ok, true);
        assert.equal((await store.v1.registerNode('a1', caps(), DIGEST('a1'), T0 + 1, from('10.0.0.1'))).ok, true, 'a known node renews');
        await store.v1.unregisterNode('a1', DIGEST('a1'), T0 + 2);
        assert.equal((await store.v1.registerNode('a3', caps(), DIGEST('a3'), T0 + 3, from('10.0.0.1'))).ok, true, 'released on unregister');
      });

      it('queue, request and byte shares land on the source over its share', async () => {
        await fresh({ v1MaxQueuePerNode: 10, v1MaxQueuePerNodePerSource: 2, v1MaxRequests: 20, v1MaxRequestsPerSource: 3, maxQueuePerClient: 10 });
        await register('n1', T0, caps(['m'], '8k-fast', 4));
        await register('n2', T0, caps(['m'], '8k-fast', 4));
        const att = (node: string, id: string) => store.v1.admitRequest({ ...v1Request(node, `k-${id}`, id), source: '10.0.0.9' }, T0);
        assert.equal((await att('n1', 'a')).ok, true);
        assert.equal((await att('n1', 'b')).ok, true);
        assert.deepEqual(await att('n1', 'c'), { ok: false, reason: 'source_queue_share_exceeded' });
        assert.equal((await att('n2', 'd')).ok, true);
        assert.deepEqual(await att('n2', 'e'), { ok: false, reason: 'source_request_share_exceeded' });
        const honest = await store.v1.admitRequest({ ...v1Request('n1', 'honest', 'h'), source: '10.0.0.2' }, T0);
        assert.equal(honest.ok, true, 'the honest source is not refused');
        await fresh({ maxStoredBytesPerSource: 4000, maxStoredBytes: 100_000 });
        await register('n1', T0, caps(['m'], '8k-fast', 4));
        const big = (id: string, source: string) => store.v1.admitRequest({ ...v1Request('n1', `k-${id}`, id, { ciphertext: 'x'.repeat(1500) }), source }, T0);
        assert.equal((await big('a', '10.0.0.9')).ok, true);
        assert.equal((await big('b', '10.0.0.9')).ok, true);
        assert.deepEqual(await big('c', '10.0.0.9'), { ok: false, reason: 'source_bytes_share_exceeded' });
        assert.equal((await big('d', '10.0.0.2')).ok, true);
      });

      it('stats.shares: v1 nodes and requests by source; bytes share one ledger with legacy', async () => {
        await fresh({ maxNodes: 10, v1MaxNodesPerSource: 4, v1MaxRequests: 20, v1MaxRequestsPerSource: 5, v1MaxQueuePerNode: 10, maxQueuePerClient: 10 });
        for (const n of ['a1', 'a2', 'a3']) assert.equal((await store.v1.registerNode(n, caps(['m'], '8k-fast', 4), DIGEST(n), T0, from('10.0.0.1'))).ok, true);
        assert.equal((await store.v1.registerNode('h1', caps(), DIGEST('h1'), T0, from('10.0.0.2'))).ok, true);
        for (const id of ['a', 'b']) assert.equal((await store.v1.admitRequest({ ...v1Request('a2', `k-${id}`, id), source: '10.0.0.9' }, T0)).ok, true);
        let shares = (await store.stats(T0)).shares;
        assert.deepEqual(shares.v1_nodes, { sources: 2, top: 3, share: 4 });
        assert.deepEqual(shares.v1_requests, { sources: 1, top: 2, share: 5 });
        assert.equal(shares.bytes.sources, 3, 'nodes and requests hold bytes at their sources');
        assert.equal(shares.legacy_nodes.sources, 0);
        await store.legacy.register('legacy', T0, '10.0.0.9');
        assert.equal((await store.stats(T0)).shares.bytes.sources, 3, 'a legacy node of the same source adds to its bytes, not a new holder');
        await store.v1.unregisterNode('a1', DIGEST('a1'), T0 + 1);
        assert.equal((await store.v1.cancelRequest('k-a', 'a', 'cancel-a', 'cancelled', 'requester_cancelled', T0 + 1)).ok, true);
        shares = (await store.stats(T0 + 1)).shares;
        assert.deepEqual(shares.v1_nodes, { sources: 2, top: 2, share: 4 }, 'unregistering released one');
        assert.deepEqual(shares.v1_requests, { sources: 1, top: 1, share: 5 }, 'cancelling released one');
      });

      it('selection takes turns between sources, not nodes: many idle junk nodes of one source do not drown an honest one', async () => {
        await fresh({ maxNodes: 20, v1MaxNodesPerSource: 20 });
        for (let i = 0; i < 8; i += 1) await store.v1.registerNode(`junk${i}`, caps(), DIGEST(`junk${i}`), T0, from('10.0.0.9'));
        await store.v1.registerNode('honest', caps(), DIGEST('honest'), T0, from('10.0.0.2'));
        const picks: string[] = [];
        for (let i = 0; i < 8; i += 1) {
          const sel = await store.v1.selectNode({ model: 'm', contextTier: '8k-fast' }, T0 + 1);
          if (sel.ok) picks.push(sel.nodeKey);
        }
        assert.equal(picks.filter((k) => k === 'honest').length, 4, picks.join(','));
        assert.equal(new Set(picks.filter((k) => k !== 'honest')).size, 4, 'the junk source rotates among its own nodes');
      });
    });

    describe('claim', () => {
      it('hands requests out oldest first, each exactly once, with their ciphertext and deadline', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1', T0);
        await admit('n1', 'c2', 'r2', T0 + 10);
        const first = await claim('n1', T0 + 100);
        assert.deepEqual(first.request, {
          clientKey: 'c1',
          requestId: 'r1',
          ciphertext: 'ct-r1',
          cipherkey: 'ck-r1',
          iv: 'iv-r1',
          admittedAt: T0,
          deadlineAt: T0 + 120_000,
        });
        assert.equal((await claim('n1', T0 + 200)).request?.requestId, 'r2');
        assert.equal((await claim('n1', T0 + 300)).request, null);
        const stats = await store.stats(T0 + 300);
        assert.equal(stats.v1Queued, 0);
        assert.equal(stats.v1Inflight, 2);
        assert.deepEqual(await store.v1.claimRequest('ghost', T0), { ok: false, reason: 'node_not_found' });
      });

      it('drops queue heads past their deadline as expired/provider_timeout', async () => {
        await register('n1');
        await admit('n1', 'c1', 'old', T0);
        await store.v1.renewLease('n1', null, T0 + 100_000, 0);
        await admit('n1', 'c2', 'new', T0 + 100_000);
        const out = await claim('n1', T0 + 120_000);
        assert.equal(out.request?.requestId, 'new');
        assert.deepEqual(out.ended, [{ outcome: 'timed_out', reason: 'provider_timeout' }]);
        const late = await store.v1.retrieveResponse('c1', 'old', T0 + 120_001);
        assert.equal(late.kind === 'terminal' && late.status, 'expired');
      });

      it('a claim renews the node lease', async () => {
        await register('n1');
        await claim('n1', T0 + 25_000);
        assert.equal((await store.stats(T0 + 50_000)).v1HealthyNodes, 1);
      });
    });

    describe('control poll and in-flight leases', () => {
      it('active renews only the in-flight lease, never the deadline; past the deadline it expires', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await claim('n1', T0);
        for (let t = T0 + 15_000; t < T0 + 120_000; t += 15_000) {
          assert.deepEqual(await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), false, t), { ok: true, status: 'active', deadlineAt: T0 + 120_000 });
        }
        const out = await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), false, T0 + 120_000);
        assert.equal(out.ok && out.status, 'expired');
        assert.deepEqual(out.ok && out.status === 'expired' ? out.ended : null, [{ outcome: 'timed_out', reason: 'provider_timeout' }]);
        const again = await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), false, T0 + 121_000);
        assert.equal(again.ok && again.status, 'expired', 'the owner keeps learning the outcome from the tombstone');
      });

      it('needs the owner credential digest', async () => {
        await register('n1');
        await register('n2');
        await admit('n1', 'c1', 'r1');
        await claim('n1', T0);
        assert.deepEqual(await store.v1.renewInflight('n1', 'r1', 'wrong', false, T0), { ok: false, reason: 'forbidden' });
        assert.deepEqual(await store.v1.renewInflight('n1', 'r1', null, false, T0), { ok: false, reason: 'forbidden' });
        assert.deepEqual(await store.v1.renewInflight('n2', 'r1', DIGEST('n2'), false, T0), { ok: true, status: 'unavailable' }, "another node's request");
        assert.deepEqual(await store.v1.renewInflight('ghost', 'r1', DIGEST('n1'), false, T0), { ok: false, reason: 'forbidden' });
      });

      it('cancellation reaches the owning node; acknowledging hides it', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await claim('n1', T0);
        const cancelled = await store.v1.cancelRequest('c1', 'r1', 'cancel-r1', 'cancelled', 'requester_cancelled', T0 + 1000);
        assert.deepEqual(cancelled, { ok: true, status: 'cancelled', removedFromQueue: 0, ended: [{ outcome: 'cancelled', reason: 'requester_cancelled' }] });
        const seen = await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), false, T0 + 2000);
        assert.deepEqual(seen, { ok: true, status: 'cancelled', deadlineAt: T0 + 120_000, acknowledged: false, ended: [] });
        const acked = await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), true, T0 + 3000);
        assert.equal(acked.ok && acked.status === 'cancelled' && acked.acknowledged, true);
        assert.deepEqual(await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), false, T0 + 4000), { ok: true, status: 'unavailable' });
        // The client still learns why.
        const client = await store.v1.retrieveResponse('c1', 'r1', T0 + 4000);
        assert.deepEqual(client, { kind: 'terminal', status: 'cancelled', reason: 'requester_cancelled', ended: [] });
      });

      it('an unregistered node still learns the outcome of its work with its old credential, until the control tombstone expires', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await claim('n1', T0);
        const out = await store.v1.unregisterNode('n1', DIGEST('n1'), T0 + 1000);
        assert.deepEqual(out, { ok: true, removed: true, ended: [{ outcome: 'cancelled', reason: 'server_unregistered' }] });
        const seen = await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), false, T0 + 2000);
        assert.equal(seen.ok && seen.status, 'cancelled');
        assert.deepEqual(await store.v1.renewInflight('n1', 'r1', 'wrong', false, T0 + 2000), { ok: false, reason: 'forbidden' });
        assert.deepEqual(
          await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), false, T0 + 41_000),
          { ok: false, reason: 'forbidden' },
          'control tombstone gone (40 s)',
        );
        const client = await store.v1.retrieveResponse('c1', 'r1', T0 + 41_000);
        assert.equal(client.kind === 'terminal' && client.reason, 'server_unregistered', 'the client tombstone lives longer (100 s)');
      });

      it("a request still queued is not the node's yet", async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        assert.deepEqual(await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), false, T0), { ok: true, status: 'unavailable' });
      });
    });

    describe('responses', () => {
      it('an answer is held for its client, fetchable again until acknowledged, then for the replay window; the id is then done', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await claim('n1', T0 + 1000);
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 1500), { kind: 'pending', deadlineAt: T0 + 120_000, progress: null });
        const accepted = await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 2000);
        assert.deepEqual(accepted, { ok: true, duplicate: false, ended: [{ outcome: 'completed', reason: 'completed' }] });
        assert.deepEqual(await store.v1.acceptResponse('c1', 'r1', answer('again'), T0 + 2100), { ok: true, duplicate: true, ended: [] });
        assert.equal((await store.stats(T0 + 2100)).v1Responses, 1);
        const got = await store.v1.retrieveResponse('c1', 'r1', T0 + 3000);
        const expected = { kind: 'response', response: { ...answer('r1'), clientKey: 'c1', requestId: 'r1', admittedAt: T0, completedAt: T0 + 2000 } };
        assert.deepEqual(got, expected);
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 3010), expected, 'a retrieve whose reply was lost is repeated');
        assert.equal((await store.stats(T0 + 3010)).v1Responses, 1);
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 3020, { ack: true }), expected, 'the ack hands it out once more');
        assert.equal((await store.stats(T0 + 3020)).v1Responses, 0, 'no longer a held answer');
        // The ack's reply may be lost (a timeout, a failover): its retry, with or without ack, still gets it.
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 3100, { ack: true }), expected, 'replayed after the ack');
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 13_019), expected, 'until the replay window ends');
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 13_020), { kind: 'unknown' });
        assert.deepEqual(await store.v1.retrieveResponse('c2', 'r1', T0 + 3100), { kind: 'unknown' }, 'only to its owner');
        assert.deepEqual(await store.v1.acceptResponse('c1', 'r1', answer('late'), T0 + 3200), {
          ok: false,
          reason: 'request_gone',
          status: 'completed',
          ended: [],
        });
        assert.deepEqual(await store.v1.renewInflight('n1', 'r1', DIGEST('n1'), false, T0 + 3300), { ok: true, status: 'unavailable' });
      });

      it('a replay is not held work: a retrieve without id skips it, a cancel cannot reach it, its bytes count until the window ends', async () => {
        await answerTwo();
        const held = (await store.stats(T0 + 10)).storedBytes;
        // Without an id the oldest answer is popped; the next one without id is the other answer.
        const first = await store.v1.retrieveResponse('c1', null, T0 + 10);
        assert.equal(first.kind === 'response' && first.response.requestId, 'r1');
        const second = await store.v1.retrieveResponse('c1', null, T0 + 20);
        assert.equal(second.kind === 'response' && second.response.requestId, 'r2');
        assert.deepEqual(await store.v1.retrieveResponse('c1', null, T0 + 30), { kind: 'unknown' }, 'replays are not handed out without their id');
        // By id, both still come back.
        const again = await store.v1.retrieveResponse('c1', 'r1', T0 + 40);
        assert.equal(again.kind === 'response' && again.response.ciphertext, 'answer-r1');
        assert.deepEqual(
          await store.v1.cancelRequest('c1', 'r2', 'cancel-r2', 'cancelled', 'client_timeout', T0 + 50),
          { ok: false, reason: 'forbidden' },
          'completed: nothing to cancel',
        );
        const replaying = (await store.stats(T0 + 60)).storedBytes;
        assert.ok(replaying < held, 'the records are gone');
        await store.v1.expire(T0 + 10_030);
        const after = (await store.stats(T0 + 10_030)).storedBytes;
        assert.equal(
          replaying - after,
          ['r1', 'r2'].reduce((sum, id) => sum + Object.values(answer(id)).join('').length, 0),
          'the replays counted their ciphertext until the window ended',
        );
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 10_030), { kind: 'unknown' });
        // The tombstones stay: a retried admission is still answered from them.
        assert.equal((await admit('n1', 'c1', 'r1', T0 + 10_040)).ok, true);
      });

      it('a replay goes with its tombstone when the tombstone cap makes room', async () => {
        await fresh({ v1MaxTombstones: 1 });
        await register('n1', T0, caps(['m'], '8k-fast', 2));
        const empty = (await store.stats(T0)).storedBytes;
        await answerTwo();
        await store.v1.retrieveResponse('c1', 'r1', T0 + 10, { ack: true });
        await store.v1.retrieveResponse('c1', 'r2', T0 + 20, { ack: true });
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 30), { kind: 'unknown' }, 'its tombstone made room');
        const again = await store.v1.retrieveResponse('c1', 'r2', T0 + 30);
        assert.equal(again.kind === 'response' && again.response.ciphertext, 'answer-r2');
        await store.v1.expire(T0 + 200_000);
        await register('n1', T0 + 200_000, caps(['m'], '8k-fast', 2));
        assert.equal((await store.stats(T0 + 200_000)).storedBytes, empty, 'the evicted replay released its bytes too');
      });

      it('answers are per request id: two requests of one client never overwrite each other', async () => {
        await answerTwo(['r2', 'r1']);
        const one = await store.v1.retrieveResponse('c1', 'r1', T0 + 3);
        const two = await store.v1.retrieveResponse('c1', 'r2', T0 + 3);
        assert.equal(one.kind === 'response' && one.response.ciphertext, 'answer-r1');
        assert.equal(two.kind === 'response' && two.response.ciphertext, 'answer-r2');
      });

      it('late answers get request_gone with the reason; unknown ids are gone', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await claim('n1', T0);
        await store.v1.cancelRequest('c1', 'r1', 'cancel-r1', 'cancelled', 'client_timeout', T0 + 10);
        assert.deepEqual(await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 20), {
          ok: false,
          reason: 'request_gone',
          status: 'cancelled',
          ended: [],
        });
        assert.deepEqual(await store.v1.acceptResponse('c1', 'nope', answer('x'), T0 + 20), { ok: false, reason: 'request_gone', status: 'gone', ended: [] });
        await admit('n1', 'c2', 'r2', T0 + 100);
        await claim('n1', T0 + 100);
        const expired = await store.v1.acceptResponse('c2', 'r2', answer('r2'), T0 + 120_100);
        assert.deepEqual(expired, { ok: false, reason: 'request_gone', status: 'expired', ended: [{ outcome: 'timed_out', reason: 'provider_timeout' }] });
      });

      it('an answer wakes the waiting client; unfetched answers expire after their TTL', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await claim('n1', T0);
        const waiter = store.watch('response', v1ResponseWakeKey('c1', 'r1'));
        const woke = waiter.wait(2000);
        await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 1000);
        assert.equal(await woke, true);
        waiter.close();
        const report = await store.v1.expire(T0 + 51_000);
        assert.equal(report.expiredResponses, 1);
        assert.deepEqual(report.ended, [], 'already counted as completed');
        assert.equal((await store.stats(T0 + 51_000)).v1Responses, 0);
        const late = await store.v1.retrieveResponse('c1', 'r1', T0 + 52_000);
        assert.equal(late.kind === 'terminal' && late.status, 'expired');
      });

      it('without a request id the oldest answer of that client is popped', async () => {
        await register('n1', T0, caps(['m'], '8k-fast', 4));
        for (const id of ['r1', 'r2']) {
          await admit('n1', 'c1', id);
          await claim('n1', T0);
        }
        await store.v1.acceptResponse('c1', 'r2', answer('r2'), T0 + 1);
        await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 2);
        const got = await store.v1.retrieveResponse('c1', null, T0 + 3);
        assert.equal(got.kind === 'response' && got.response.requestId, 'r2');
        assert.deepEqual(await store.v1.retrieveResponse('other', null, T0 + 3), { kind: 'unknown' });
      });
    });

    describe('cancellation', () => {
      it('needs the cancel token digest given at admission', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await admit('n1', 'c2', 'r2', T0, { cancelTokenDigest: null });
        assert.deepEqual(await store.v1.cancelRequest('c1', 'r1', 'wrong', 'cancelled', 'cancelled', T0), { ok: false, reason: 'forbidden' });
        assert.deepEqual(await store.v1.cancelRequest('c2', 'r2', 'anything', 'cancelled', 'cancelled', T0), { ok: false, reason: 'forbidden' });
        assert.deepEqual(await store.v1.cancelRequest('c1', 'nope', 'cancel-nope', 'cancelled', 'cancelled', T0), { ok: false, reason: 'forbidden' });
        assert.equal((await store.stats(T0)).v1Queued, 2, 'nothing changed');
      });

      it('a queued request leaves the queue; repeating the cancel is idempotent', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        const waiter = store.watch('response', v1ResponseWakeKey('c1', 'r1'));
        const woke = waiter.wait(2000);
        assert.deepEqual(await store.v1.cancelRequest('c1', 'r1', 'cancel-r1', 'expired', 'provider_timeout', T0 + 5), {
          ok: true,
          status: 'expired',
          removedFromQueue: 1,
          ended: [{ outcome: 'timed_out', reason: 'provider_timeout' }],
        });
        assert.equal(await woke, true, 'the waiting client hears about it');
        waiter.close();
        assert.deepEqual(await store.v1.cancelRequest('c1', 'r1', 'cancel-r1', 'cancelled', 'cancelled', T0 + 6), {
          ok: true,
          status: 'expired',
          removedFromQueue: 0,
          ended: [],
        });
        assert.equal((await claim('n1', T0 + 7)).request, null);
      });

      it('cancelling an answered, unfetched request discards the answer', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await claim('n1', T0);
        await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 1);
        assert.deepEqual(await store.v1.cancelRequest('c1', 'r1', 'cancel-r1', 'cancelled', 'requester_cancelled', T0 + 2), {
          ok: true,
          status: 'cancelled',
          removedFromQueue: 0,
          ended: [],
        });
        assert.equal((await store.stats(T0 + 2)).v1Responses, 0);
        assert.equal((await store.v1.retrieveResponse('c1', 'r1', T0 + 3)).kind, 'terminal');
      });
    });

    describe('progress', () => {
      it('one replaceable record per request in flight on its owner, popped by the next pending fetch', async () => {
        await register('n1');
        await register('n2');
        await admit('n1', 'c1', 'r1');
        const record = (n: number) => ({ ciphertext: `p${n}`, cipherkey: 'pk', iv: 'pi' });
        assert.deepEqual(await store.v1.recordProgress('n1', DIGEST('n1'), 'c1', 'r1', record(0), T0), { ok: false, reason: 'not_active' }, 'still queued');
        await claim('n1', T0);
        assert.deepEqual(await store.v1.recordProgress('n1', 'wrong', 'c1', 'r1', record(1), T0), { ok: false, reason: 'forbidden' });
        assert.deepEqual(await store.v1.recordProgress('n2', DIGEST('n2'), 'c1', 'r1', record(1), T0), { ok: false, reason: 'not_active' });
        assert.deepEqual(await store.v1.recordProgress('n1', DIGEST('n1'), 'c9', 'r1', record(1), T0), { ok: false, reason: 'not_active' });
        assert.deepEqual(await store.v1.recordProgress('n1', DIGEST('n1'), 'c1', 'r1', record(1), T0 + 1), { ok: true, replaced: false });
        assert.deepEqual(await store.v1.recordProgress('n1', DIGEST('n1'), 'c1', 'r1', record(2), T0 + 2), { ok: true, replaced: true });
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 3), { kind: 'pending', deadlineAt: T0 + 120_000, progress: record(2) });
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 4), { kind: 'pending', deadlineAt: T0 + 120_000, progress: null });
        assert.deepEqual(
          await store.v1.recordProgress('n1', DIGEST('n1'), 'c1', 'r1', record(3), T0 + 120_000),
          { ok: false, reason: 'not_active' },
          'past the deadline',
        );
      });
    });

    describe('unregister', () => {
      it('needs the owner credential; cancels queued and in-flight work; is idempotent', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await admit('n1', 'c2', 'r2');
        await claim('n1', T0);
        assert.deepEqual(await store.v1.unregisterNode('n1', null, T0), { ok: false, reason: 'forbidden' });
        assert.deepEqual(await store.v1.unregisterNode('n1', 'wrong', T0), { ok: false, reason: 'forbidden' });
        const out = await store.v1.unregisterNode('n1', DIGEST('n1'), T0 + 1);
        assert.equal(out.ok && out.removed, true);
        assert.equal(out.ok ? count(out.ended, 'cancelled', 'server_unregistered') : 0, 2);
        assert.deepEqual(await store.v1.unregisterNode('n1', DIGEST('n1'), T0 + 2), { ok: true, removed: false, ended: [] });
        assert.deepEqual(await store.v1.renewLease('n1', null, T0 + 2, 0), { ok: false, reason: 'node_not_found' });
        assert.equal((await store.stats(T0 + 2)).v1Queued, 0);
      });

      it('unregistering wakes a held poll of that node', async () => {
        await register('n1');
        const waiter = store.watch('work', v1WorkWakeKey('n1'));
        const woke = waiter.wait(2000);
        await store.v1.unregisterNode('n1', DIGEST('n1'), T0);
        assert.equal(await woke, true);
        waiter.close();
      });
    });

    describe('best-fit selection', () => {
      it('no nodes, no match, no capacity', async () => {
        const none = await store.v1.selectNode({ model: 'm', contextTier: '8k-fast' }, T0);
        assert.equal(!none.ok && none.reason, 'no_registered_compute_nodes');
        await register('n1', T0, caps(['other']));
        const nomatch = await store.v1.selectNode({ model: 'm', contextTier: '8k-fast' }, T0);
        assert.equal(!nomatch.ok && nomatch.reason, 'no_matching_compute_node');
        await register('n2', T0, caps(['m']));
        for (const id of ['a', 'b', 'c']) await admit('n2', `c-${id}`, id);
        const full = await store.v1.selectNode({ model: 'm', contextTier: '8k-fast' }, T0);
        assert.equal(!full.ok && full.reason, 'no_available_capacity');
        assert.equal(!full.ok && full.capacityLimitedCount, 1);
      });

      it('the smallest capable tier wins, then the least loaded, then round-robin', async () => {
        await register('big', T0, caps(['m'], '64k-full'));
        await register('small1', T0, caps(['m']));
        await register('small2', T0, caps(['m']));
        const pick = async (tier: '8k-fast' | '64k-full' = '8k-fast') => {
          const s = await store.v1.selectNode({ model: 'm', contextTier: tier }, T0);
          return s.ok ? s.nodeKey : s.reason;
        };
        // Equal load: round-robin over the 8k nodes in registration order; the 64k node is not used.
        assert.deepEqual([await pick(), await pick(), await pick(), await pick()], ['small1', 'small2', 'small1', 'small2']);
        // Load: small1 has a queued request, so small2 is preferred every time.
        await admit('small1', 'c1', 'r1');
        assert.deepEqual([await pick(), await pick()], ['small2', 'small2']);
        // 64k requests can only go to the 64k node.
        assert.equal(await pick('64k-full'), 'big');
        const s = await store.v1.selectNode({ model: 'm', contextTier: '8k-fast' }, T0);
        assert.equal(s.ok && s.spillover, false);
        assert.deepEqual(s.ok && s.eligibleTierCounts, { '64k-full': 1, '8k-fast': 2 });
        assert.deepEqual(s.ok && s.load, { queueDepth: 0, inflight: 0, maxConcurrency: 1, loadScore: 0 });
      });

      it('spills over to a bigger tier when no small node is eligible; load is per unit of concurrency', async () => {
        await register('big', T0, caps(['m'], '64k-full', 4));
        let s = await store.v1.selectNode({ model: 'm', contextTier: '8k-fast' }, T0);
        assert.equal(s.ok && s.spillover, true);
        await register('wide', T0, caps(['m'], '64k-full', 4));
        await register('narrow', T0, caps(['m'], '64k-full', 1));
        await admit('wide', 'c1', 'r1');
        await admit('narrow', 'c2', 'r2');
        await admit('big', 'c3', 'r3');
        await admit('big', 'c4', 'r4');
        s = await store.v1.selectNode({ model: 'm', contextTier: '64k-full' }, T0);
        assert.equal(s.ok && s.nodeKey, 'wide', '1/4 beats 2/4 and 1/1');
        assert.equal(s.ok && s.load.loadScore, 0.25);
      });

      it('in-flight work counts toward load while its lease runs; lapsed nodes are never picked', async () => {
        await register('a');
        await register('b');
        await admit('a', 'c1', 'r1');
        await claim('a', T0);
        const s = await store.v1.selectNode({ model: 'm', contextTier: '8k-fast' }, T0 + 1);
        assert.equal(s.ok && s.nodeKey, 'b');
        await store.v1.renewLease('a', null, T0 + 25_000, 0);
        const later = await store.v1.selectNode({ model: 'm', contextTier: '8k-fast' }, T0 + 40_000);
        assert.equal(later.ok && later.nodeKey, 'a', 'b lapsed at T0+30s; a renewed to T0+55s and its in-flight lease ran out');
      });
    });

    describe('selection ranks what nodes have proved', () => {
      const at = (source: string) => ({ source });
      const pick = async (now = T0 + 10) => {
        const s = await store.v1.selectNode({ model: 'm', contextTier: '8k-fast' }, now);
        return s.ok ? s.nodeKey : s.reason;
      };
      const picks = async (n: number, now = T0 + 10) => {
        const out: string[] = [];
        for (let i = 0; i < n; i += 1) out.push(await pick(now));
        return out;
      };
      const node = async (key: string, source: string, polled = true) => {
        assert.equal((await store.v1.registerNode(key, caps(), DIGEST(key), T0, at(source))).ok, true);
        if (polled) assert.deepEqual(await store.v1.renewLease(key, null, T0, 0), { ok: true });
      };
      /** One round trip through `key`, so it has delivered an answer. */
      const prove = async (key: string, id = `proof-${key}`) => {
        assert.equal((await admit(key, `c-${id}`, id, T0 + 1)).ok, true);
        assert.equal((await claim(key, T0 + 2)).request?.requestId, id);
        assert.equal((await store.v1.acceptResponse(`c-${id}`, id, answer(id), T0 + 3)).ok, true);
      };

      it('a proven node is picked first; every 8th pick explores a polled, unproven one', async () => {
        await node('honest', '10.0.0.2');
        await node('junk', '10.0.0.9');
        await prove('honest');
        const got = await picks(16);
        const explored = got.flatMap((k, i) => (k === 'junk' ? [i + 1] : []));
        assert.deepEqual(explored, [8, 16], got.join(','));
      });

      it('a node that never polled is picked only when nothing else fits', async () => {
        await fresh({ maxNodes: 20, v1MaxNodesPerSource: 20 });
        for (let i = 0; i < 6; i += 1) await node(`junk${i}`, '10.0.0.9', false);
        await node('fresh', '10.0.0.2');
        assert.deepEqual(new Set(await picks(12)), new Set(['fresh']), 'a polled node beats any number of never-polled ones, even unproven');
        for (const id of ['a', 'b', 'c']) assert.equal((await admit('fresh', `c-${id}`, id, T0 + 1)).ok, true);
        const full = await picks(2);
        assert.ok(
          full.every((k) => k.startsWith('junk')),
          `the polled node's queue is full: ${full.join(',')}`,
        );
      });

      it('a busy proven node is not starved by idle nodes of other sources: turns between sources, then load', async () => {
        await fresh({ maxNodes: 20, v1MaxNodesPerSource: 20 });
        await node('honest', '10.0.0.2');
        await node('other1', '10.0.0.9');
        await node('other2', '10.0.0.9');
        for (const key of ['honest', 'other1', 'other2']) await prove(key);
        // The honest node is busy (two queued), the others idle: still every other pick.
        for (const id of ['q1', 'q2']) assert.equal((await admit('honest', `c-${id}`, id, T0 + 4)).ok, true);
        const got = await picks(6);
        assert.equal(got.filter((k) => k === 'honest').length, 3, got.join(','));
        // Within a source, load decides: other1 busy, so other2 every time.
        assert.equal((await admit('other1', 'c-o', 'o', T0 + 4)).ok, true);
        const again = await picks(4);
        assert.deepEqual(
          again.filter((k) => k !== 'honest'),
          ['other2', 'other2'],
          again.join(','),
        );
      });

      it('proof belongs to the registration: unregistered and registered again, a node starts unproven', async () => {
        await node('a', '10.0.0.2');
        await node('b', '10.0.0.9');
        await prove('a');
        assert.deepEqual(await picks(2), ['a', 'a']);
        assert.equal((await store.v1.unregisterNode('a', DIGEST('a'), T0 + 5)).ok, true);
        await node('a', '10.0.0.2');
        await prove('b');
        assert.deepEqual(await picks(3), ['b', 'b', 'b']);
      });
    });

    describe('expiry and accounting', () => {
      it('every request ends exactly once, whatever ends it', async () => {
        await register('n1', T0, caps(['m'], '8k-fast', 8));
        const all: V1Ended[] = [];
        for (const id of ['q', 'f', 'a']) await admit('n1', `c-${id}`, id);
        all.push(...(await claim('n1', T0 + 1)).ended, ...(await claim('n1', T0 + 1)).ended); // q, f in flight
        const accepted = await store.v1.acceptResponse('c-q', 'q', answer('q'), T0 + 2);
        if (accepted.ok) all.push(...accepted.ended);
        await store.v1.renewLease('n1', null, T0 + 100_000, 0);
        const sweep = await store.v1.expire(T0 + 120_000); // f (in flight) and a (queued) pass their deadline
        all.push(...sweep.ended);
        const again = await store.v1.expire(T0 + 121_000);
        all.push(...again.ended);
        assert.equal(all.length, 3);
        assert.equal(count(all, 'completed'), 1);
        assert.equal(count(all, 'timed_out', 'provider_timeout'), 2);
        const stats = await store.stats(T0 + 121_000);
        assert.equal(stats.v1Queued + stats.v1Inflight, 0);
      });

      it('tombstones are pruned after their TTL and bounded in number', async () => {
        await register('n1');
        await admit('n1', 'c1', 'r1');
        await store.v1.cancelRequest('c1', 'r1', 'cancel-r1', 'cancelled', 'cancelled', T0);
        assert.equal((await store.stats(T0)).v1Tombstones, 1);
        assert.equal((await store.v1.expire(T0 + 99_999)).prunedTombstones, 0);
        await store.v1.renewLease('n1', null, T0 + 99_000, 0);
        assert.equal((await store.v1.expire(T0 + 100_000)).prunedTombstones, 1);
        assert.deepEqual(await store.v1.retrieveResponse('c1', 'r1', T0 + 100_000), { kind: 'unknown' });
        await fresh({ v1MaxTombstones: 3 });
        await register('n1', T0, caps(['m'], '8k-fast', 8));
        for (let i = 0; i < 5; i += 1) {
          await admit('n1', `c${i}`, `r${i}`);
          await store.v1.cancelRequest(`c${i}`, `r${i}`, `cancel-r${i}`, 'cancelled', 'cancelled', T0);
        }
        assert.equal((await store.stats(T0)).v1Tombstones, 3);
      });

      it('stats, byte accounting and the node listing follow the state', async () => {
        await register('n1');
        const empty = await store.stats(T0);
        await admit('n1', 'c1', 'r1');
        const queued = await store.stats(T0 + 5000);
        assert.equal(queued.v1Queued, 1);
        assert.equal(queued.v1OldestQueuedAgeMs, 5000);
        assert.ok(queued.storedBytes > empty.storedBytes);
        await claim('n1', T0 + 5000);
        assert.equal((await store.stats(T0 + 5000)).storedBytes, queued.storedBytes, 'a claimed request keeps its ciphertext until answered (requeue)');
        const listing = await store.listNodes(T0 + 6000, 10);
        assert.equal(listing.v1Total, 1);
        assert.equal(listing.v1[0]?.key, 'n1');
        assert.equal(listing.v1[0]?.inflight, 1);
        assert.equal(listing.v1[0]?.ageMs, 1000);
        assert.equal((await store.listNodes(T0 + 60_000, 10)).v1Total, 0, 'lapsed');
        await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 6500);
        await store.v1.retrieveResponse('c1', 'r1', T0 + 6600, { ack: true });
        const done = await store.stats(T0 + 6600);
        assert.ok(done.storedBytes > empty.storedBytes, 'the tombstone counts');
        await store.v1.expire(T0 + 200_000);
        await register('n1', T0 + 200_000);
        assert.equal((await store.stats(T0 + 200_000)).storedBytes, empty.storedBytes, 'everything released');
      });

      it("a node's label rides in its capabilities: stored, listed, replaced by a poll's capabilities", async () => {
        await register('n1', T0, { ...caps(['m']), label: 'lab GPU 2' });
        await register('n2');
        const listed = await store.listNodes(T0 + 1000, 10);
        assert.equal(listed.v1.find((v) => v.key === 'n1')?.capabilities?.label, 'lab GPU 2');
        assert.equal(listed.v1.find((v) => v.key === 'n2')?.capabilities?.label, undefined, 'no label, none listed');
        assert.deepEqual((await store.v1.selectNode({ model: 'm', contextTier: '8k-fast' }, T0 + 1000)).ok, true);
        // A poll without capabilities keeps them (label included); with capabilities it replaces them.
        assert.deepEqual(await store.v1.renewLease('n1', null, T0 + 2000, 0), { ok: true });
        assert.equal((await store.listNodes(T0 + 2000, 10)).v1.find((v) => v.key === 'n1')?.capabilities?.label, 'lab GPU 2');
        assert.deepEqual(await store.v1.renewLease('n1', { ...caps(['m']), label: 'renamed' }, T0 + 3000, 0), { ok: true });
        assert.equal((await store.listNodes(T0 + 3000, 10)).v1.find((v) => v.key === 'n1')?.capabilities?.label, 'renamed');
        assert.deepEqual(await store.v1.renewLease('n1', caps(['m']), T0 + 4000, 0), { ok: true });
        assert.equal((await store.listNodes(T0 + 4000, 10)).v1.find((v) => v.key === 'n1')?.capabilities?.label, undefined);
        // What a backend reports about evicted nodes and per-node detail is optional, but right when given.
        const report = await store.v1.expire(T0 + 60_000);
        assert.equal(report.evictedNodes, 2);
        if (report.evicted !== undefined) assert.deepEqual(report.evicted.map((n) => n.key).sort(), ['n1', 'n2']);
      });

      it('per-node detail, where a backend lists it, counts served and dropped work', async () => {
        await register('n1', T0, caps(['m'], '8k-fast', 2));
        await admit('n1', 'c1', 'r1');
        await admit('n1', 'c1', 'r2');
        await claim('n1', T0 + 1000);
        await claim('n1', T0 + 1000);
        await store.v1.acceptResponse('c1', 'r1', answer('r1'), T0 + 2000);
        // r2's in-flight lease (20 s) lapses: back to the queue, a drop for n1.
        await store.v1.renewLease('n1', null, T0 + 20_000, 0);
        await store.v1.expire(T0 + 22_000);
        const view = (await store.listNodes(T0 + 22_000, 10)).v1[0]!;
        if (view.served !== undefined) {
          assert.equal(view.served, 1);
          assert.equal(view.failed, 1);
          assert.equal(view.registeredAgoMs, 22_000);
          assert.equal(view.leaseLeftMs, 28_000);
        }
        const info = await store.v1.nodeInfo?.('n1');
        if (info !== undefined) assert.deepEqual({ ...info, lastSeen: undefined }, { key: 'n1', label: null, source: '-', lastSeen: undefined });
      });

      it('snapshot is stable at rest and changes with every transition', async () => {
        const a = await store.snapshot();
        await register('n1');
        const b = await store.snapshot();
        assert.notDeepEqual(a, b);
        assert.deepEqual(await store.snapshot(), b);
        await admit('n1', 'c1', 'r1');
        assert.notDeepEqual(await store.snapshot(), b);
      });
    });
  });
}
