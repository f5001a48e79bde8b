// A rolling config change: two replicas with different caps on one Redis. The caps travel as
// ARGV with every call (src/store/redis/settings.ts), so each replica enforces its own caps
// against the one shared state: the stricter replica refuses once the shared total reaches its
// cap, the looser one goes on up to its own. Neither rewrites the other's caps (README, "Rolling
// config changes").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisStore } from '../../src/store/redis.js';
import { startRedis } from '../support/redis-server.js';
import { CONTRACT_LIMITS, request } from './contract.js';

const T0 = 1_000_000;

test('two replicas on different caps share the state, each enforcing its own caps', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const prefix = `rolling:${process.pid}:`;
  const limits = { ...CONTRACT_LIMITS, maxQueuePerNode: 100, maxQueuePerClient: 100 };
  const old = new RedisStore({ ...limits, maxQueuedTotal: 2 }, { url: redis.url, prefix });
  const updated = new RedisStore({ ...limits, maxQueuedTotal: 4 }, { url: redis.url, prefix });
  t.after(async () => {
    await old.close();
    await updated.close();
  });
  await Promise.all([old.ready(), updated.ready()]);
  assert.equal((await old.legacy.register('node', T0)).ok, true);
  for (const c of ['c1', 'c2']) assert.equal((await old.legacy.enqueue('node', request(c), T0)).ok, true);
  // The shared total is 2: at the old replica's cap, under the new one's.
  assert.deepEqual(await old.legacy.enqueue('node', request('c3'), T0), { ok: false, reason: 'relay_queue_full' });
  assert.equal((await updated.legacy.enqueue('node', request('c3'), T0)).ok, true);
  assert.equal((await updated.legacy.enqueue('node', request('c4'), T0)).ok, true);
  assert.deepEqual(await updated.legacy.enqueue('node', request('c5'), T0), { ok: false, reason: 'relay_queue_full' });
  // Both see the one queue of four.
  assert.equal((await old.stats(T0)).queuedRequests, 4);
  assert.equal((await old.legacy.claim('node', 10, T0)).length, 4);
  // Once the total drops under the old cap, the old replica admits again.
  assert.equal((await old.legacy.enqueue('node', request('c6'), T0)).ok, true);
});

test('v1: each replica enforces its own request cap on the shared records', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const { caps } = await import('./contract-v1.js');
  const CAPS = caps();
  const { v1Request } = await import('./contract-v1.js');
  const prefix = `rolling-v1:${process.pid}:`;
  const base = { ...CONTRACT_LIMITS, maxQueuePerClient: 100, v1MaxQueuePerNode: 100, v1MaxRequestsPerSource: 100 };
  const old = new RedisStore({ ...base, v1MaxRequests: 1 }, { url: redis.url, prefix });
  const updated = new RedisStore({ ...base, v1MaxRequests: 3 }, { url: redis.url, prefix });
  t.after(async () => {
    await old.close();
    await updated.close();
  });
  await Promise.all([old.ready(), updated.ready()]);
  assert.equal((await updated.v1.registerNode('n', CAPS, 'digest', T0)).ok, true);
  assert.equal((await old.v1.admitRequest(v1Request('n', 'c', 'r1'), T0)).ok, true);
  assert.deepEqual(await old.v1.admitRequest(v1Request('n', 'c', 'r2'), T0), { ok: false, reason: 'relay_queue_full' });
  assert.equal((await updated.v1.admitRequest(v1Request('n', 'c', 'r2'), T0)).ok, true);
  assert.equal((await updated.v1.admitRequest(v1Request('n', 'c', 'r3'), T0)).ok, true);
  assert.deepEqual(await updated.v1.admitRequest(v1Request('n', 'c', 'r4'), T0), { ok: false, reason: 'relay_queue_full' });
});
