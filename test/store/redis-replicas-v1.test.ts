// API v1 on a shared store: two store instances (two replicas) on one Redis race on the same
// requests without double delivery, see each other's cancellations and wake each other's
// waiters, share the round-robin cursor, and keep every cap global.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { RedisStore } from '../../src/store/redis.js';
import type { StoreLimits } from '../../src/store/types.js';
import { v1ResponseWakeKey, v1WorkWakeKey } from '../../src/protocols/v1/types.js';
import { NATIVE_GRACE_MS } from '../../src/protocols/legacy/redis-keys.js';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { V1_CONTRACT_LIMITS, caps, v1Request } from './contract-v1.js';

const T0 = Date.UTC(2026, 0, 1);
const ROOMY: Partial<StoreLimits> = {
  maxQueuePerClient: 1000,
  v1MaxQueuePerNode: 1000,
  v1MaxRequests: 1000,
  v1MaxQueuePerNodePerSource: 1000,
  v1MaxRequestsPerSource: 1000,
};
const answer = (id: string) => ({ ciphertext: `answer-${id}`, cipherkey: 'k', iv: 'i' });
let n = 0;

/** Two stores (two replicas) on one namespace, both closed after the test. */
async function pair(t: TestContext, redis: RedisServer, limits: Partial<StoreLimits> = {}): Promise<[RedisStore, RedisStore]> {
  n += 1;
  const prefix = `replicas-v1:${process.pid}:${n}:`;
  const make = async (): Promise<RedisStore> => {
    const store = new RedisStore({ ...V1_CONTRACT_LIMITS, ...limits }, { url: redis.url, prefix, commandTimeoutMs: 1000, connectTimeoutMs: 1000 });
    await store.ready();
    return store;
  };
  const stores: [RedisStore, RedisStore] = [await make(), await make()];
  t.after(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });
  return stores;
}

test("two replicas racing to claim one node's queue hand each request out exactly once", async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await pair(t, redis, ROOMY);
  await a.v1.registerNode('node', caps(['m'], '8k-fast', 8), 'digest', T0);
  const admitted = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).v1.admitRequest(v1Request('node', `c${i}`, `r${i}`), T0)));
  assert.ok(admitted.every((o) => o.ok));
  const seen: string[] = [];
  await Promise.all(
    [a, b, a, b].map(async (store) => {
      for (;;) {
        const out = await store.v1.claimRequest('node', T0 + 1);
        if (!out.ok || out.request === null) return;
        seen.push(out.request.requestId);
      }
    }),
  );
  assert.equal(seen.length, 200);
  assert.equal(new Set(seen).size, 200, 'no request claimed twice');
  const stats = await b.stats(T0 + 1);
  assert.equal(stats.v1Queued, 0);
  assert.equal(stats.v1Inflight, 200);
});

test('an answer is accepted once and delivered to exactly one replica', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await pair(t, redis, ROOMY);
  await a.v1.registerNode('node', caps(['m'], '8k-fast', 8), 'digest', T0);
  let accepted = 0;
  for (let i = 0; i < 50; i += 1) {
    await b.v1.admitRequest(v1Request('node', 'client', `r${i}`), T0);
    await a.v1.claimRequest('node', T0);
    const answers = await Promise.all([a, b].map((s) => s.v1.acceptResponse('client', `r${i}`, answer(`r${i}`), T0 + 1)));
    accepted += answers.filter((o) => o.ok && !o.duplicate).length;
    // Racing acknowledged fetches: one ends the request, the others get the same answer replayed.
    const got = await Promise.all([a, b, b].map((s) => s.v1.retrieveResponse('client', `r${i}`, T0 + 2, { ack: true })));
    assert.ok(got.every((r) => r.kind === 'response' && r.response.ciphertext === `answer-r${i}`));
    assert.equal((await a.stats(T0 + 2)).v1Responses, 0, 'no answer left held');
  }
  assert.equal(accepted, 50, 'one of the two racing answers wins, the other is a duplicate');
  await a.v1.expire(T0 + 10_000_000);
  assert.equal((await a.stats(T0 + 10_000_000)).storedBytes, 0, 'tombstones and the node released too');
});

test('a cancellation on one replica reaches the node polling another, and wakes its waiters', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await pair(t, redis);
  await a.v1.registerNode('node', caps(), 'digest', T0);
  const work = a.watch('work', v1WorkWakeKey('node'));
  const woken = work.wait(10_000);
  assert.equal((await b.v1.admitRequest(v1Request('node', 'client', 'r1'), T0)).ok, true);
  assert.equal(await woken, true, 'admission on b wakes the poll held on a');
  work.close();
  assert.equal((await a.v1.claimRequest('node', T0)).ok, true);
  assert.deepEqual(await a.v1.renewInflight('node', 'r1', 'digest', false, T0 + 1000), {
    ok: true,
    status: 'active',
    deadlineAt: T0 + V1_CONTRACT_LIMITS.v1DeadlineMs!,
  });
  const response = a.watch('response', v1ResponseWakeKey('client', 'r1'));
  const told = response.wait(10_000);
  const cancelled = await b.v1.cancelRequest('client', 'r1', 'cancel-r1', 'cancelled', 'requester_cancelled', T0 + 2000);
  assert.equal(cancelled.ok && cancelled.status, 'cancelled');
  assert.equal(await told, true, 'the client waiting on a hears of it');
  response.close();
  const seen = await a.v1.renewInflight('node', 'r1', 'digest', false, T0 + 3000);
  assert.equal(seen.ok && seen.status, 'cancelled', 'the node polling a learns of it');
  assert.deepEqual(await a.v1.acceptResponse('client', 'r1', answer('r1'), T0 + 4000), { ok: false, reason: 'request_gone', status: 'cancelled', ended: [] });
  assert.equal(a.waiters + b.waiters, 0);
});

test('the round-robin cursor is shared: replicas take turns over equally loaded nodes', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await pair(t, redis);
  for (const node of ['n1', 'n2', 'n3']) await a.v1.registerNode(node, caps(), `d-${node}`, T0);
  const picks: string[] = [];
  for (let i = 0; i < 6; i += 1) {
    const s = await (i % 2 ? a : b).v1.selectNode({ model: 'm', contextTier: '8k-fast' }, T0);
    picks.push(s.ok ? s.nodeKey : s.reason);
  }
  assert.deepEqual(picks, ['n1', 'n2', 'n3', 'n1', 'n2', 'n3']);
});

test('caps are global: two replicas together stop at the per-client, per-node and total caps', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await pair(t, redis, { maxQueuePerClient: 3, v1MaxQueuePerNode: 5, v1MaxRequests: 7 });
  for (const node of ['n1', 'n2']) await a.v1.registerNode(node, caps(), `d-${node}`, T0);
  const same = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).v1.admitRequest(v1Request('n1', 'same', `s${i}`), T0)));
  assert.equal(same.filter((o) => o.ok).length, 3);
  const node = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).v1.admitRequest(v1Request('n1', `c${i}`, `q${i}`), T0)));
  assert.equal(node.filter((o) => o.ok).length, 2, 'n1 holds 5');
  const total = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).v1.admitRequest(v1Request('n2', `d${i}`, `t${i}`), T0)));
  assert.equal(total.filter((o) => o.ok).length, 2, 'v1MaxRequests = 7');
  assert.equal((await b.stats(T0)).v1Queued, 7);
});

test('v1 entries carry a native TTL as a safety net, and the sweep leaves nothing behind', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const { Redis } = await import('ioredis');
  const [a, b] = await pair(t, redis);
  const raw = new Redis(redis.url);
  raw.on('error', () => {});
  t.after(() => raw.disconnect());
  const prefix = `replicas-v1:${process.pid}:${n}:`;
  await a.v1.registerNode('node', caps(), 'digest', T0);
  await a.v1.admitRequest(v1Request('node', 'client', 'r1'), T0);
  await b.v1.admitRequest(v1Request('node', 'client', 'r2'), T0);
  await b.v1.claimRequest('node', T0);
  await a.v1.cancelRequest('client', 'r1', 'cancel-r1', 'cancelled', 'cancelled', T0);
  const keys = await raw.keys(`${prefix}*`);
  assert.ok(keys.some((k) => k.includes('v1:r:')) && keys.some((k) => k.includes('v1:t:')));
  for (const key of keys) assert.ok((await raw.pttl(key)) > 0, `${key.slice(prefix.length)} has a TTL`);
  // Far past every lifetime, sweeps on either replica empty the namespace of v1 state: the
  // first ends r2 and evicts the node (leaving r2's tombstone), the next prunes that.
  const report = await b.v1.expire(T0 + 3_600_000);
  assert.equal(report.evictedNodes, 1);
  assert.deepEqual(report.ended, [{ outcome: 'timed_out', reason: 'provider_timeout' }]);
  const late = T0 + 7_200_000;
  assert.equal(report.prunedTombstones + (await a.v1.expire(late)).prunedTombstones, 2);
  const stats = await a.stats(late);
  assert.deepEqual([stats.v1Nodes, stats.v1Queued, stats.v1Inflight, stats.v1Responses, stats.v1Tombstones, stats.storedBytes], [0, 0, 0, 0, 0, 0]);
  // Left: the counters' hash, and the marker of the last TTL refresh (it expires by itself).
  const left = (await raw.keys(`${prefix}v1:*`)).map((k) => k.slice(prefix.length)).filter((k) => !['v1:meta', 'v1:touched'].includes(k));
  assert.deepEqual(left, []);
  const marker = await raw.pttl(`${prefix}v1:touched`);
  assert.ok(marker > 0 && marker <= NATIVE_GRACE_MS / 2, `the marker lives at most half the grace (${marker} ms)`);
});

test('an acknowledged fetch whose reply was lost (Redis ran it after the relay gave up) is answered again on retry', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const store = new RedisStore(
    { ...V1_CONTRACT_LIMITS, ...ROOMY },
    { url: redis.url, prefix: `lost-ack:${process.pid}:`, commandTimeoutMs: 200, connectTimeoutMs: 1000 },
  );
  const admin = new Redis(redis.url);
  t.after(async () => {
    await store.close();
    admin.disconnect();
  });
  await store.ready();
  await store.v1.registerNode('node', caps(), 'digest', T0);
  await store.v1.admitRequest(v1Request('node', 'client', 'r1'), T0);
  await store.v1.claimRequest('node', T0);
  await store.v1.acceptResponse('client', 'r1', answer('r1'), T0 + 1);
  // A fetch without ack first, so Redis knows the script: a NOSCRIPT arriving after the give-up
  // would leave nothing run (its EVAL is never sent), which is not the fault under test.
  assert.equal((await store.v1.retrieveResponse('client', 'r1', T0 + 1)).kind, 'response');
  // Writes (scripts included) wait 600 ms: the store gives up at 200 ms, then Redis runs the ack.
  await admin.call('CLIENT', 'PAUSE', '600', 'WRITE');
  await assert.rejects(store.v1.retrieveResponse('client', 'r1', T0 + 2, { ack: true }), (err: Error) => err.name === 'StoreUnavailableError');
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal((await store.stats(T0 + 3)).v1Responses, 0, 'the ack ran after all: the request ended');
  const retry = await store.v1.retrieveResponse('client', 'r1', T0 + 4, { ack: true });
  assert.equal(retry.kind === 'response' && retry.response.ciphertext, 'answer-r1', 'the retry gets the answer its client never saw');
});
