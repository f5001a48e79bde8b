// The store contract: every backend (memory, Redis) must pass this suite unchanged.
// Time is passed explicitly to each transition, so expiry is tested without waiting.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { QueuedRequest, RelayStore, StoreLimits } from '../../src/store/types.js';

export const CONTRACT_LIMITS: StoreLimits = {
  nodeTtlMs: 30_000,
  requestTtlMs: 60_000,
  responseTtlMs: 20_000,
  streamTtlMs: 40_000,
  maxNodes: 5,
  maxQueuePerNode: 4,
  maxQueuePerClient: 3,
  maxQueuedTotal: 10,
  maxResponses: 6,
  maxStreamSessions: 3,
  maxStreamChunks: 5,
  maxStoredBytes: 1_000_000,
};

export type StoreFactory = (limits: StoreLimits) => Promise<RelayStore>;

const T0 = Date.UTC(2026, 0, 1);

export function request(client: string, body = 'cipher', stream = false): QueuedRequest {
  return { clientKey: client, chatHistory: `${body}-history`, cipherkey: `${body}-key`, iv: `${body}-iv`, stream };
}

export function storeContract(backend: string, factory: StoreFactory, options: { setup?: () => Promise<void>; teardown?: () => Promise<void> } = {}): void {
  describe(`RelayStore contract: ${backend}`, () => {
    let store: RelayStore;
    const fresh = async (limits: Partial<StoreLimits> = {}): Promise<RelayStore> => {
      await store?.close();
      store = await factory({ ...CONTRACT_LIMITS, ...limits });
      return store;
    };
    if (options.setup) before(options.setup);
    beforeEach(async () => {
      await fresh();
    });
    after(async () => {
      await store?.close();
      await options.teardown?.();
    });

    describe('nodes', () => {
      it('register creates, then refreshes', async () => {
        assert.deepEqual(await store.legacy.register('n1', T0), { ok: true, created: true });
        assert.deepEqual(await store.legacy.register('n1', T0 + 1000), { ok: true, created: false });
        assert.equal((await store.stats(T0 + 1000)).nodes, 1);
      });

      it('pickNode returns null when no node is live, and only live nodes', async () => {
        assert.equal(await store.legacy.pickNode(T0), null);
        await store.legacy.register('old', T0);
        await store.legacy.register('new', T0 + 20_000);
        assert.equal(await store.legacy.pickNode(T0 + 30_000), 'new');
        assert.equal(await store.legacy.pickNode(T0 + 50_000), null);
      });

      it('pickNode spreads over every live node', async () => {
        for (const key of ['a', 'b', 'c']) await store.legacy.register(key, T0);
        const seen = new Set<string | null>();
        for (let i = 0; i < 200 && seen.size < 3; i += 1) seen.add(await store.legacy.pickNode(T0));
        assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
      });

      it('pickNode over a fleet larger than one lookup batch: only live nodes, from every source', async () => {
        const big = await fresh({ maxNodes: 1200 });
        // 1,100 nodes from three sources (the per-source share is the cap's: no share here), the last 100 dead.
        for (let i = 0; i < 1100; i += 1) assert.equal((await big.legacy.register(`node-${i}`, i < 1000 ? T0 + 20_000 : T0, `src-${i % 3}`)).ok, true);
        const picked = new Set<string>();
        for (let i = 0; i < 120; i += 1) picked.add((await big.legacy.pickNode(T0 + 40_000))!);
        assert.ok(
          [...picked].every((key) => /^node-\d+$/.test(key) && Number(key.slice(5)) < 1000),
          [...picked].join(','),
        );
        assert.deepEqual(new Set([...picked].map((key) => Number(key.slice(5)) % 3)), new Set([0, 1, 2]));
      });

      it('refuses new nodes over the cap, but makes room by expiring dead ones', async () => {
        for (let i = 0; i < 5; i += 1) assert.equal((await store.legacy.register(`n${i}`, T0)).ok, true);
        assert.deepEqual(await store.legacy.register('extra', T0 + 1), { ok: false, reason: 'relay_node_limit' });
        assert.equal((await store.legacy.register('n0', T0 + 2)).ok, true, 'a known node may always refresh');
        assert.equal((await store.legacy.register('extra', T0 + 31_000)).ok, true, 'dead nodes make room');
      });

      it('a node with claimed, unanswered work stays live past the node TTL', async () => {
        await store.legacy.register('busy', T0);
        await store.legacy.enqueue('busy', request('c1'), T0);
        assert.equal((await store.legacy.claim('busy', 1, T0 + 1000)).length, 1);
        assert.equal(await store.legacy.pickNode(T0 + 45_000), 'busy', 'busy generating, not dead');
        await store.legacy.complete('c1', { chatHistory: 'r', cipherkey: 'k', iv: 'i' }, T0 + 50_000);
        assert.equal(await store.legacy.pickNode(T0 + 70_000), 'busy', '/source counts as a sign of life');
        assert.equal(await store.legacy.pickNode(T0 + 81_000), null);
      });

      it('expire removes silent nodes and counts them', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.register('n2', T0 + 25_000);
        const counts = await store.legacy.expire(T0 + 31_000);
        assert.equal(counts.nodes, 1);
        assert.equal((await store.stats(T0 + 31_000)).nodes, 1);
      });
    });

    describe('requests', () => {
      it('enqueue needs a live node', async () => {
        assert.deepEqual(await store.legacy.enqueue('ghost', request('c1'), T0), { ok: false, reason: 'node_not_found' });
        await store.legacy.register('n1', T0);
        assert.deepEqual(await store.legacy.enqueue('n1', request('c1'), T0 + 31_000), { ok: false, reason: 'node_not_found' });
      });

      it('claim hands requests out in order, each exactly once, with enqueue time', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.enqueue('n1', request('c1', 'a'), T0);
        await store.legacy.enqueue('n1', request('c2', 'b'), T0 + 1);
        await store.legacy.enqueue('n1', request('c3', 'c'), T0 + 2);
        const first = await store.legacy.claim('n1', 2, T0 + 10);
        assert.deepEqual(
          first.map((r) => r.chatHistory),
          ['a-history', 'b-history'],
        );
        assert.equal(first[0]?.enqueuedAt, T0);
        assert.equal(first[0]?.clientKey, 'c1');
        const second = await store.legacy.claim('n1', 5, T0 + 20);
        assert.deepEqual(
          second.map((r) => r.clientKey),
          ['c3'],
        );
        assert.deepEqual(await store.legacy.claim('n1', 5, T0 + 30), []);
      });

      it('queues are per node', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.register('n2', T0);
        await store.legacy.enqueue('n1', request('c1'), T0);
        assert.deepEqual(await store.legacy.claim('n2', 1, T0), []);
        assert.equal((await store.legacy.claim('n1', 1, T0)).length, 1);
      });

      it('enforces the per-node, per-client and total caps', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.register('n2', T0);
        await store.legacy.register('n3', T0);
        for (let i = 0; i < 4; i += 1) assert.equal((await store.legacy.enqueue('n1', request(`c${i}`), T0)).ok, true);
        assert.deepEqual(await store.legacy.enqueue('n1', request('c9'), T0), { ok: false, reason: 'node_queue_full' });
        for (let i = 0; i < 3; i += 1) assert.equal((await store.legacy.enqueue('n2', request('greedy'), T0)).ok, true);
        assert.deepEqual(await store.legacy.enqueue('n2', request('greedy'), T0), { ok: false, reason: 'client_queue_full' });
        assert.equal((await store.legacy.enqueue('n2', request('polite'), T0)).ok, true, 'another client still gets through');
        for (let i = 0; i < 2; i += 1) assert.equal((await store.legacy.enqueue('n3', request(`d${i}`), T0)).ok, true);
        assert.deepEqual(await store.legacy.enqueue('n3', request('d9'), T0), { ok: false, reason: 'relay_queue_full' });
        assert.equal((await store.stats(T0)).queuedRequests, 10);
      });

      it('caps the bytes held', async () => {
        await fresh({ maxStoredBytes: 250 }); // the node key and record count too (34 bytes)
        await store.legacy.register('n1', T0);
        assert.equal((await store.legacy.enqueue('n1', request('c1', 'x'.repeat(60)), T0)).ok, true);
        assert.deepEqual(await store.legacy.enqueue('n1', request('c2', 'y'.repeat(60)), T0), { ok: false, reason: 'relay_queue_full' });
      });

      it('claiming frees capacity', async () => {
        await store.legacy.register('n1', T0);
        for (let i = 0; i < 3; i += 1) await store.legacy.enqueue('n1', request('c1'), T0);
        await store.legacy.claim('n1', 1, T0);
        assert.equal((await store.legacy.enqueue('n1', request('c1'), T0)).ok, true);
      });

      it('queued requests expire on their own TTL, not when the node looks idle', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.enqueue('n1', request('c1', 'early'), T0);
        await store.legacy.enqueue('n1', request('c2', 'late'), T0 + 29_000);
        await store.legacy.register('n1', T0 + 59_000);
        const claimed = await store.legacy.claim('n1', 5, T0 + 61_000);
        assert.deepEqual(
          claimed.map((r) => r.clientKey),
          ['c2'],
          'the early one expired, the late one survived',
        );
      });

      it('expire sweeps queued requests and frees their capacity', async () => {
        await store.legacy.register('n1', T0);
        for (let i = 0; i < 3; i += 1) await store.legacy.enqueue('n1', request('c1'), T0);
        const counts = await store.legacy.expire(T0 + 60_001);
        assert.equal(counts.requests, 3);
        const stats = await store.stats(T0 + 60_001);
        assert.equal(stats.queuedRequests, 0);
        assert.equal(stats.storedBytes, 0);
        await store.legacy.register('n1', T0 + 60_001);
        assert.equal((await store.legacy.enqueue('n1', request('c1'), T0 + 60_001)).ok, true);
      });

      it('reports the oldest queued age', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.enqueue('n1', request('c1'), T0);
        await store.legacy.enqueue('n1', request('c2'), T0 + 500);
        assert.equal((await store.stats(T0 + 2000)).oldestQueuedAgeMs, 2000);
      });
    });

    describe('responses', () => {
      const response = (tag: string) => ({ chatHistory: `${tag}-h`, cipherkey: `${tag}-k`, iv: `${tag}-i` });
      /** A request of `client` claimed by a node: what makes an answer for it acceptable. */
      const asked = async (client: string, at = T0, node = 'answering') => {
        await store.legacy.register(node, at);
        assert.equal((await store.legacy.enqueue(node, request(client), at)).ok, true);
        assert.equal((await store.legacy.claim(node, 1, at)).length, 1);
      };

      it('complete then retrieve pops exactly once, linked to its request', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.enqueue('n1', request('c1'), T0);
        await store.legacy.claim('n1', 1, T0 + 100);
        const done = await store.legacy.complete('c1', response('r'), T0 + 200);
        assert.deepEqual(done, { ok: true, replaced: false, requestEnqueuedAt: T0 });
        const got = await store.legacy.retrieve('c1', T0 + 300);
        assert.deepEqual(got, { ...response('r'), storedAt: T0 + 200, requestEnqueuedAt: T0 });
        assert.equal(await store.legacy.retrieve('c1', T0 + 301), null);
        assert.equal((await store.stats(T0 + 301)).inflightRequests, 0);
      });

      it('an answer nobody asked for is refused and stores nothing', async () => {
        await store.legacy.register('n1', T0);
        const before = await store.snapshot();
        assert.deepEqual(await store.legacy.complete('stranger', response('r'), T0), { ok: false, reason: 'answer_not_requested' });
        await store.legacy.enqueue('n1', request('queued'), T0);
        const queuedOnly = await store.snapshot();
        assert.deepEqual(await store.legacy.complete('queued', response('r'), T0), { ok: false, reason: 'answer_not_requested' }, 'queued, not claimed');
        assert.deepEqual(await store.snapshot(), queuedOnly);
        assert.notDeepEqual(queuedOnly, before);
        assert.equal(await store.legacy.retrieve('stranger', T0), null);
      });

      it('10,000 unsolicited answers leave room for the one that was asked for', async () => {
        await asked('honest');
        for (let i = 0; i < 10_000; i += 1) {
          const outcome = await store.legacy.complete(`junk${i % 50}`, response('j'), T0, `10.0.0.${i % 7}`);
          if (outcome.ok) assert.fail('an unsolicited answer was stored');
        }
        assert.equal((await store.stats(T0)).responses, 0);
        assert.equal((await store.legacy.complete('honest', response('r'), T0 + 1)).ok, true);
        assert.equal((await store.legacy.retrieve('honest', T0 + 2))?.chatHistory, 'r-h');
      });

      it('one claimed request takes one answer; an answer after its job expired is refused', async () => {
        await asked('c1');
        assert.equal((await store.legacy.complete('c1', response('one'), T0 + 1)).ok, true);
        assert.deepEqual(await store.legacy.complete('c1', response('two'), T0 + 2), { ok: false, reason: 'answer_not_requested' });
        await asked('c2', T0);
        assert.deepEqual(await store.legacy.complete('c2', response('late'), T0 + 60_001), { ok: false, reason: 'answer_not_requested' });
        assert.equal((await store.stats(T0 + 60_001)).inflightRequests, 0);
      });

      it('a newer response replaces an unretrieved one (one slot per client key)', async () => {
        await asked('c1');
        await asked('c1');
        await store.legacy.complete('c1', response('one'), T0);
        assert.equal((await store.legacy.complete('c1', response('two'), T0 + 1)).ok, true);
        assert.equal((await store.legacy.retrieve('c1', T0 + 2))?.chatHistory, 'two-h');
        assert.equal((await store.stats(T0 + 2)).responses, 0);
      });

      it('responses expire after their TTL', async () => {
        await asked('c1');
        await asked('c2', T0 + 10_000);
        await store.legacy.complete('c1', response('r'), T0);
        await store.legacy.complete('c2', response('r'), T0 + 10_000);
        assert.equal(await store.legacy.retrieve('c1', T0 + 20_001), null);
        const counts = await store.legacy.expire(T0 + 30_001);
        assert.equal(counts.responses, 1);
        assert.equal((await store.stats(T0 + 30_001)).responses, 0);
      });

      it('caps the number of responses held', async () => {
        await fresh({ maxQueuePerNode: 20, maxQueuedTotal: 20 });
        for (let i = 0; i < 6; i += 1) {
          await asked(`c${i}`);
          assert.equal((await store.legacy.complete(`c${i}`, response('r'), T0)).ok, true);
        }
        await asked('c9');
        await asked('c0');
        assert.deepEqual(await store.legacy.complete('c9', response('r'), T0), { ok: false, reason: 'response_store_full' });
        assert.equal((await store.legacy.complete('c0', response('again'), T0)).ok, true, 'replacing needs no new room');
      });
    });

    describe('streams', () => {
      it('a claimed stream request opens a session; chunks drain incrementally; final closes it', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.enqueue('n1', request('c1', 's', true), T0);
        const [item] = await store.legacy.claim('n1', 1, T0);
        assert.ok(item?.streamSessionId, 'session id handed to the node');
        const sid = item.streamSessionId;
        assert.deepEqual(await store.legacy.drainStream('c1', T0), { sessionId: sid, chunks: [], final: false });
        assert.deepEqual(await store.legacy.appendChunk(sid, '{"ciphertext":"a"}', false, T0 + 1), { ok: true });
        assert.deepEqual(await store.legacy.appendChunk(sid, '"b"', false, T0 + 2), { ok: true });
        assert.deepEqual(await store.legacy.drainStream('c1', T0 + 3), { sessionId: sid, chunks: ['{"ciphertext":"a"}', '"b"'], final: false });
        assert.deepEqual(await store.legacy.appendChunk(sid, '"c"', true, T0 + 4), { ok: true });
        assert.deepEqual(await store.legacy.appendChunk(sid, '"late"', false, T0 + 5), { ok: true }, 'accepted until drained (legacy quirk)');
        assert.deepEqual(await store.legacy.drainStream('c1', T0 + 6), { sessionId: sid, chunks: ['"c"', '"late"'], final: true });
        assert.equal(await store.legacy.drainStream('c1', T0 + 7), null);
        assert.deepEqual(await store.legacy.appendChunk(sid, '"x"', false, T0 + 8), { ok: false, reason: 'stream_session_not_found' });
        assert.equal((await store.stats(T0 + 8)).inflightRequests, 0, 'the final chunk answered the request');
      });

      it('non-stream requests get no session', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.enqueue('n1', request('c1'), T0);
        const [item] = await store.legacy.claim('n1', 1, T0);
        assert.equal(item?.streamSessionId, undefined);
        assert.equal(await store.legacy.drainStream('c1', T0), null);
      });

      it('a newer session for the same client replaces the older one', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.enqueue('n1', request('c1', 'one', true), T0);
        await store.legacy.enqueue('n1', request('c1', 'two', true), T0);
        const [a, b] = await store.legacy.claim('n1', 2, T0);
        assert.deepEqual(await store.legacy.appendChunk(a!.streamSessionId!, '"x"', false, T0), { ok: false, reason: 'stream_session_not_found' });
        assert.deepEqual(await store.legacy.appendChunk(b!.streamSessionId!, '"y"', false, T0), { ok: true });
      });

      it('caps chunks per session and expires idle sessions', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.enqueue('n1', request('c1', 's', true), T0);
        const [item] = await store.legacy.claim('n1', 1, T0);
        const sid = item!.streamSessionId!;
        for (let i = 0; i < 5; i += 1) assert.equal((await store.legacy.appendChunk(sid, String(i), false, T0)).ok, true);
        assert.deepEqual(await store.legacy.appendChunk(sid, '5', false, T0), { ok: false, reason: 'stream_session_full' });
        const counts = await store.legacy.expire(T0 + 40_001);
        assert.equal(counts.streams, 1);
        assert.equal(await store.legacy.drainStream('c1', T0 + 40_001), null);
      });

      it('keeps at most maxStreamSessions sessions', async () => {
        await fresh({ maxQueuePerClient: 10, maxQueuePerNode: 10 });
        await store.legacy.register('n1', T0);
        for (let i = 0; i < 5; i += 1) await store.legacy.enqueue('n1', request(`c${i}`, 's', true), T0 + i);
        await store.legacy.claim('n1', 5, T0 + 10);
        assert.equal((await store.stats(T0 + 10)).streamSessions, 3);
      });
    });

    describe('per-source shares and bytes', () => {
      const SHARES: Partial<StoreLimits> = {
        maxNodes: 6,
        maxNodesPerSource: 2,
        maxQueuePerNode: 4,
        maxQueuePerNodePerSource: 2,
        maxQueuedTotal: 10,
        maxQueuedPerSource: 3,
        maxResponses: 6,
        maxResponsesPerSource: 2,
        maxStreamSessions: 3,
        maxStreamSessionsPerSource: 1,
        maxQueuePerClient: 10,
      };
      const response = { chatHistory: 'h', cipherkey: 'k', iv: 'i' };

      it('node table: a source over its share is refused, an honest one still registers', async () => {
        await fresh(SHARES);
        assert.equal((await store.legacy.register('junk1', T0, 'evil')).ok, true);
        assert.equal((await store.legacy.register('junk2', T0, 'evil')).ok, true);
        assert.deepEqual(await store.legacy.register('junk3', T0, 'evil'), { ok: false, reason: 'source_node_share_exceeded' });
        assert.equal((await store.legacy.register('junk1', T0 + 1, 'evil')).ok, true, 'a known key refreshes');
        assert.deepEqual(await store.legacy.register('honest', T0, 'home'), { ok: true, created: true });
        assert.equal((await store.legacy.register('junk3', T0 + 31_000, 'evil')).ok, true, 'expired keys release the share');
      });

      it('pickNode picks a source first: many keys from one address do not dominate', async () => {
        await fresh({ ...SHARES, maxNodes: 50, maxNodesPerSource: 50 });
        for (let i = 0; i < 40; i += 1) await store.legacy.register(`junk${i}`, T0, 'evil');
        await store.legacy.register('honest', T0, 'home');
        let honest = 0;
        for (let i = 0; i < 400; i += 1) if ((await store.legacy.pickNode(T0)) === 'honest') honest += 1;
        // Per key it would be 1 in 41 (~10 of 400); per source it is 1 in 2 (~200 of 400).
        assert.ok(honest > 120, `honest node picked ${honest} of 400 times`);
      });

      it("queues: one source gets its share of a node's queue and of the total", async () => {
        await fresh(SHARES);
        await store.legacy.register('n1', T0, 'home');
        await store.legacy.register('n2', T0, 'home');
        assert.equal((await store.legacy.enqueue('n1', request('a1'), T0, 'evil')).ok, true);
        assert.equal((await store.legacy.enqueue('n1', request('a2'), T0, 'evil')).ok, true);
        assert.deepEqual(await store.legacy.enqueue('n1', request('a3'), T0, 'evil'), { ok: false, reason: 'source_queue_share_exceeded' });
        assert.equal((await store.legacy.enqueue('n2', request('a3'), T0, 'evil')).ok, true);
        assert.deepEqual(await store.legacy.enqueue('n2', request('a4'), T0, 'evil'), { ok: false, reason: 'source_queue_share_exceeded' }, 'total share');
        assert.equal((await store.legacy.enqueue('n1', request('h1'), T0, 'home')).ok, true, 'the honest source still queues');
        await store.legacy.claim('n1', 1, T0);
        assert.equal((await store.legacy.enqueue('n2', request('a5'), T0, 'evil')).ok, true, 'claiming releases the share');
      });

      it('answers: charged to the answering source, refused over its share', async () => {
        await fresh({ ...SHARES, maxQueuePerNodePerSource: 4 });
        await store.legacy.register('n1', T0, 'home');
        for (const c of ['c1', 'c2', 'c3', 'c4']) await store.legacy.enqueue('n1', request(c), T0, 'clients');
        assert.equal((await store.legacy.claim('n1', 4, T0)).length, 3, 'the clients source queued its share of 3');
        assert.equal((await store.legacy.complete('c1', response, T0, 'evil')).ok, true);
        assert.equal((await store.legacy.complete('c2', response, T0, 'evil')).ok, true);
        assert.deepEqual(await store.legacy.complete('c3', response, T0, 'evil'), { ok: false, reason: 'source_response_share_exceeded' });
        assert.equal((await store.legacy.complete('c3', response, T0, 'home')).ok, true);
        await store.legacy.retrieve('c1', T0);
        await store.legacy.enqueue('n1', request('c5'), T0, 'clients');
        await store.legacy.claim('n1', 1, T0);
        assert.equal((await store.legacy.complete('c5', response, T0, 'evil')).ok, true, 'retrieval releases the share');
      });

      it('stream sessions: over its share a source replaces its own oldest, never an honest one', async () => {
        await fresh(SHARES);
        await store.legacy.register('n1', T0, 'home');
        await store.legacy.enqueue('n1', request('honest', 's', true), T0, 'home');
        await store.legacy.enqueue('n1', request('e1', 's', true), T0, 'evil');
        await store.legacy.enqueue('n1', request('e2', 's', true), T0, 'evil');
        await store.legacy.claim('n1', 3, T0);
        assert.equal((await store.stats(T0)).streamSessions, 2);
        assert.deepEqual((await store.legacy.drainStream('honest', T0))?.final, false, 'the honest session survives');
        assert.equal(await store.legacy.drainStream('e1', T0), null, "evil's older session made room for its newer one");
      });

      it('chunks and keys count against the byte cap and the source share; draining releases them', async () => {
        await fresh({ maxStoredBytes: 4000, maxStoredBytesPerSource: 2000 });
        await store.legacy.register('n1', T0, 'home');
        const keyed = (await store.stats(T0)).storedBytes;
        assert.ok(keyed >= 'n1'.length, 'a registered key holds bytes');
        await store.legacy.enqueue('n1', request('c1', 's', true), T0, 'client');
        const [item] = await store.legacy.claim('n1', 1, T0);
        const sid = item!.streamSessionId!;
        const opened = (await store.stats(T0)).storedBytes;
        assert.ok(opened > keyed, 'session and in-flight records hold bytes');
        const big = JSON.stringify('x'.repeat(900));
        assert.equal((await store.legacy.appendChunk(sid, big, false, T0, 'evil')).ok, true);
        assert.equal((await store.legacy.appendChunk(sid, big, false, T0, 'evil')).ok, true);
        assert.deepEqual(await store.legacy.appendChunk(sid, big, false, T0, 'evil'), { ok: false, reason: 'source_bytes_share_exceeded' });
        assert.equal((await store.stats(T0)).storedBytes, opened + 2 * big.length);
        assert.equal((await store.legacy.drainStream('c1', T0))?.chunks.length, 2);
        assert.equal((await store.stats(T0)).storedBytes, opened, 'delivered chunks are freed');
        assert.equal((await store.legacy.appendChunk(sid, big, true, T0, 'evil')).ok, true);
        await store.legacy.drainStream('c1', T0);
        assert.equal((await store.stats(T0)).storedBytes, keyed, 'a finished session frees its record and job');
        await store.legacy.expire(T0 + 31_000);
        assert.equal((await store.stats(T0 + 31_000)).storedBytes, 0, 'an expired key frees its bytes');
      });

      it('stats.shares: per cap, the sources holding anything, the largest holder and its share', async () => {
        await fresh(SHARES);
        const zero = (share: number) => ({ sources: 0, top: 0, share });
        assert.deepEqual((await store.stats(T0)).shares.legacy_nodes, zero(2));
        await store.legacy.register('e1', T0, 'evil');
        await store.legacy.register('e2', T0, 'evil');
        await store.legacy.register('h1', T0, 'home');
        for (const [node, client] of [
          ['e1', 'a1'],
          ['e1', 'a2'],
          ['e2', 'a3'],
        ] as const)
          assert.equal((await store.legacy.enqueue(node, request(client), T0, 'evil')).ok, true);
        assert.equal((await store.legacy.enqueue('h1', request('h'), T0, 'home')).ok, true);
        let shares = (await store.stats(T0)).shares;
        assert.deepEqual(shares.legacy_nodes, { sources: 2, top: 2, share: 2 });
        assert.deepEqual(shares.legacy_queued, { sources: 2, top: 3, share: 3 });
        assert.deepEqual(shares.legacy_responses, zero(2));
        assert.deepEqual(shares.legacy_streams, zero(1));
        assert.equal(shares.bytes.sources, 2, 'node keys and queued requests hold bytes at their sources');
        assert.equal(shares.bytes.share, 1_000_000, 'no byte share configured: the whole cap');
        assert.ok(shares.bytes.top > 0 && shares.bytes.top < 1000, `largest byte holder ${shares.bytes.top}`);
        assert.deepEqual(shares.v1_nodes.sources, 0);
        await store.legacy.claim('e1', 1, T0);
        assert.equal((await store.legacy.complete('a1', response, T0, 'evil')).ok, true);
        shares = (await store.stats(T0)).shares;
        assert.deepEqual(shares.legacy_queued, { sources: 2, top: 2, share: 3 }, 'claiming released one');
        assert.deepEqual(shares.legacy_responses, { sources: 1, top: 1, share: 2 });
        await store.legacy.expire(T0 + 200_000);
        shares = (await store.stats(T0 + 200_000)).shares;
        for (const [cap, use] of Object.entries(shares)) assert.deepEqual([cap, use.sources, use.top], [cap, 0, 0], 'expiry empties every share');
      });

      it('bytes of queued requests are capped per source', async () => {
        await fresh({ maxStoredBytes: 10_000, maxStoredBytesPerSource: 500, maxQueuePerClient: 10 });
        await store.legacy.register('n1', T0, 'home');
        assert.equal((await store.legacy.enqueue('n1', request('a', 'x'.repeat(100)), T0, 'evil')).ok, true);
        assert.deepEqual(await store.legacy.enqueue('n1', request('b', 'x'.repeat(200)), T0, 'evil'), { ok: false, reason: 'source_bytes_share_exceeded' });
        assert.equal((await store.legacy.enqueue('n1', request('c', 'x'.repeat(100)), T0, 'home')).ok, true);
      });
    });

    describe('wake-ups', () => {
      it('enqueue wakes a waiter on that node only', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.register('n2', T0);
        const w1 = store.watch('work', 'n1');
        const w2 = store.watch('work', 'n2');
        const woke1 = w1.wait(2000);
        const woke2 = w2.wait(200);
        await store.legacy.enqueue('n1', request('c1'), T0);
        assert.equal(await woke1, true);
        assert.equal(await woke2, false);
        w1.close();
        w2.close();
      });

      it('complete wakes the client waiter; a wake-up before wait() is not lost', async () => {
        await store.legacy.register('n1', T0);
        await store.legacy.enqueue('n1', request('c1'), T0);
        await store.legacy.claim('n1', 1, T0);
        const w = store.watch('response', 'c1');
        await store.legacy.complete('c1', { chatHistory: 'h', cipherkey: 'k', iv: 'i' }, T0);
        // Redis delivers the wake-up asynchronously: wait() must see it whether it came before or after.
        assert.equal(await w.wait(2000), true);
        w.close();
      });

      it('wait() returns false at once when aborted', async () => {
        const w = store.watch('work', 'n1');
        const controller = new AbortController();
        const pending = w.wait(10_000, controller.signal);
        controller.abort();
        assert.equal(await pending, false);
        w.close();
      });
    });

    describe('snapshot and health', () => {
      it('snapshot is stable when nothing changes and differs after a transition', async () => {
        await store.legacy.register('n1', T0);
        const a = await store.snapshot();
        assert.deepEqual(await store.snapshot(), a);
        await store.legacy.enqueue('n1', request('c1'), T0);
        assert.notDeepEqual(await store.snapshot(), a);
      });

      it('reports healthy', async () => {
        assert.deepEqual(await store.health(), { ok: true });
      });
    });
  });
}
