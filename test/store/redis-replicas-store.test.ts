// What only a shared store must get right: two store instances (two replicas) on one Redis race
// on the same queue and response without double delivery or loss, wake each other's waiters, keep
// caps global, expire in bounded steps, and fail fast (then recover) when Redis goes away.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { RedisStore } from '../../src/store/redis.js';
import type { StoreLimits } from '../../src/store/types.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { CONTRACT_LIMITS, request } from './contract.js';

const T0 = Date.UTC(2026, 0, 1);
let n = 0;

/** Two stores (two replicas) on one namespace, both closed after the test. */
async function pair(t: TestContext, redis: RedisServer, limits: Partial<StoreLimits> = {}): Promise<[RedisStore, RedisStore]> {
  n += 1;
  const prefix = `replicas:${process.pid}:${n}:`;
  // Every store is closed after the test, also when the second one fails to start: an unclosed
  // store keeps reconnecting to the stopped redis-server and the test process never exits.
  const stores: RedisStore[] = [];
  t.after(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });
  const make = async (): Promise<RedisStore> => {
    const store = new RedisStore({ ...CONTRACT_LIMITS, ...limits }, { url: redis.url, prefix, commandTimeoutMs: 500, connectTimeoutMs: 500 });
    stores.push(store);
    await store.ready();
    return store;
  };
  return [await make(), await make()];
}

/** A claimed request for `client` on `store`: an answer is accepted only for one. */
async function asked(store: RedisStore, client: string, at = T0): Promise<void> {
  await store.legacy.register('answering', at);
  assert.equal((await store.legacy.enqueue('answering', request(client), at)).ok, true);
  assert.equal((await store.legacy.claim('answering', 1, at)).length, 1);
}

test('two replicas racing to claim one queue deliver each request exactly once', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await pair(t, redis, { maxQueuePerNode: 1000, maxQueuePerClient: 1000, maxQueuedTotal: 1000 });
  await a.legacy.register('node', T0);
  const enqueues = [];
  for (let i = 0; i < 300; i += 1) enqueues.push((i % 2 === 0 ? a : b).legacy.enqueue('node', request(`c${i}`, `m${i}`), T0));
  assert.ok((await Promise.all(enqueues)).every((o) => o.ok));
  const seen: string[] = [];
  const claimers = [a, b, a, b].map(async (store) => {
    for (;;) {
      const got = await store.legacy.claim('node', 3, T0 + 1);
      if (got.length === 0) return;
      seen.push(...got.map((item) => item.clientKey));
    }
  });
  await Promise.all(claimers);
  assert.equal(seen.length, 300);
  assert.equal(new Set(seen).size, 300, 'no request claimed twice');
  assert.equal((await a.stats(T0 + 1)).queuedRequests, 0);
});

test('racing retrieves hand one response to exactly one replica', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await pair(t, redis, { maxResponses: 1000 });
  let delivered = 0;
  for (let i = 0; i < 100; i += 1) {
    await asked(b, `c${i}`);
    await a.legacy.complete(`c${i}`, { chatHistory: 'h', cipherkey: 'k', iv: 'i' }, T0);
    const got = await Promise.all([a.legacy.retrieve(`c${i}`, T0), b.legacy.retrieve(`c${i}`, T0), b.legacy.retrieve(`c${i}`, T0)]);
    delivered += got.filter((r) => r !== null).length;
  }
  assert.equal(delivered, 100);
});

test('a waiter on one replica wakes when the other replica enqueues or completes', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await pair(t, redis);
  await b.legacy.register('node', T0);
  const work = a.watch('work', 'node');
  const response = a.watch('response', 'client');
  const other = a.watch('work', 'other-node');
  const woken = work.wait(10_000);
  assert.equal((await b.legacy.enqueue('node', request('client'), T0)).ok, true);
  assert.equal(await woken, true);
  assert.equal((await a.legacy.claim('node', 1, T0)).length, 1);
  const answered = response.wait(10_000);
  await b.legacy.complete('client', { chatHistory: 'h', cipherkey: 'k', iv: 'i' }, T0);
  assert.equal(await answered, true);
  assert.equal(await other.wait(50), false, 'only the named node is woken');
  for (const w of [work, response, other]) w.close();
  assert.equal(a.waiters, 0, 'closed waiters are released');
});

test('caps are global: two replicas together stop at the per-node and per-client caps', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await pair(t, redis, { maxQueuePerNode: 4, maxQueuePerClient: 3 });
  await a.legacy.register('node', T0);
  const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).legacy.enqueue('node', request('same-client', `m${i}`), T0)));
  assert.equal(outcomes.filter((o) => o.ok).length, 3);
  assert.deepEqual(
    outcomes.find((o) => !o.ok),
    { ok: false, reason: 'client_queue_full' },
  );
  const more = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).legacy.enqueue('node', request(`other${i}`), T0)));
  assert.equal(more.filter((o) => o.ok).length, 1, 'one more fits under the per-node cap of 4');
});

test('expire sweeps a large backlog in bounded steps and leaves counters at zero', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a] = await pair(t, redis, { maxResponses: 5000 });
  for (let i = 0; i < 1200; i += 1) await asked(a, `c${i}`);
  for (let i = 0; i < 1200; i += 1) await a.legacy.complete(`c${i}`, { chatHistory: 'h', cipherkey: 'k', iv: 'i' }, T0);
  assert.equal((await a.stats(T0)).responses, 1200);
  const counts = await a.legacy.expire(T0 + CONTRACT_LIMITS.responseTtlMs);
  assert.equal(counts.responses, 1200, 'several 500-entry steps in one expire() call');
  const stats = await a.stats(T0 + CONTRACT_LIMITS.responseTtlMs);
  assert.equal(stats.responses, 0);
  await a.legacy.expire(T0 + CONTRACT_LIMITS.nodeTtlMs + 1); // the answering node's key goes too
  assert.equal((await a.stats(T0 + CONTRACT_LIMITS.nodeTtlMs + 1)).storedBytes, 0);
});

test('entries carry a native TTL as a safety net', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const { Redis } = await import('ioredis');
  const [a] = await pair(t, redis);
  const raw = new Redis(redis.url);
  raw.on('error', () => {});
  t.after(() => raw.disconnect());
  await a.legacy.register('node', T0);
  await a.legacy.enqueue('node', request('client'), T0);
  await asked(a, 'client2');
  await a.legacy.complete('client2', { chatHistory: 'h', cipherkey: 'k', iv: 'i' }, T0);
  const prefix = `replicas:${process.pid}:${n}:`;
  for (const key of ['q:node', 'r:client2', 'nodes', 'counts']) {
    const ttl = await raw.pttl(prefix + key);
    assert.ok(ttl > 0, `${key} has a TTL (${ttl})`);
  }
  // The first write refreshed every bookkeeping key and set the marker that skips the next
  // refreshes; the keys later writes created (the response index, its source's tally) got
  // their TTL from the write itself.
  const keys = await raw.keys(`${prefix}*`);
  assert.ok(keys.includes(`${prefix}touched`) && keys.includes(`${prefix}xr`) && keys.includes(`${prefix}src:resp`));
  for (const key of keys) assert.ok((await raw.pttl(key)) > 0, `${key.slice(prefix.length)} has a TTL`);
});

test('Redis gone: commands fail fast with StoreUnavailableError, health says why, both recover', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a] = await pair(t, redis);
  assert.deepEqual(await a.health(), { ok: true });
  await redis.stop(true);
  await assert.rejects(a.legacy.register('node', T0), (err) => err instanceof StoreUnavailableError);
  const health = await a.health();
  assert.equal(health.ok, false);
  assert.match(health.ok ? '' : health.reason, /^redis unreachable \(/);
  await redis.restart();
  await a.ready(10_000);
  assert.deepEqual(await a.health(), { ok: true });
  assert.deepEqual(await a.legacy.register('node', T0), { ok: true, created: true }, 'fresh Redis (no persistence), store works again');
});

test('HTTP during a Redis outage: readiness 503 with a reason, routes answer JSON 503 store_unavailable', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const { buildApp } = await import('../../src/app.js');
  const { configWith } = await import('../../src/config.js');
  const [store] = await pair(t, redis);
  const app = await buildApp({ config: configWith({ logLevel: 'silent', sinkHoldMs: 0, retrieveHoldMs: 0 }), store });
  t.after(async () => app.close());
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  await redis.stop(true);
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(health.statusCode, 503);
  assert.match(JSON.stringify(health.json().details), /redis unreachable/);
  const calls = [
    { method: 'GET' as const, url: '/next_server' },
    { method: 'POST' as const, url: '/faucet', payload: { server_public_key: 'n', client_public_key: 'c', chat_history: 'h', cipherkey: 'k', iv: 'i' } },
    { method: 'POST' as const, url: '/sink', payload: { server_public_key: 'n' } },
    { method: 'POST' as const, url: '/retrieve', payload: { client_public_key: 'c' } },
  ];
  for (const call of calls) {
    const res = await app.inject(call);
    assert.equal(res.statusCode, 503, call.url);
    assert.equal(res.headers['retry-after'], '2', call.url);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.equal(res.json().code, 'store_unavailable', call.url);
  }
  await redis.restart();
  await store.ready(10_000);
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});

test('per-source hashes are global across replicas and every release decrements the source that was charged', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await pair(t, redis, { maxNodesPerSource: 1, maxStoredBytesPerSource: 100_000 });
  assert.equal((await a.legacy.register('n1', T0, 'home')).ok, true);
  assert.deepEqual(await b.legacy.register('n2', T0, 'home'), { ok: false, reason: 'source_node_share_exceeded' }, 'the share spans replicas');
  assert.equal((await b.legacy.enqueue('n1', request('c1', 's', true), T0, 'client')).ok, true);
  assert.equal((await b.legacy.enqueue('n1', request('c2'), T0, 'client')).ok, true);
  const claimed = await a.legacy.claim('n1', 2, T0);
  const sid = claimed.find((item) => item.streamSessionId !== undefined)!.streamSessionId!;
  assert.equal((await b.legacy.appendChunk(sid, '"chunk"', false, T0, 'poster')).ok, true);
  assert.equal((await a.legacy.complete('c2', { chatHistory: 'h', cipherkey: 'k', iv: 'i' }, T0, 'answerer')).ok, true);
  const hashes = async () =>
    ((await a.snapshot()) as [string, unknown][]).filter(([name]) => name.startsWith('src') || name.startsWith('qs:') || name === 'nsrc');
  const held = new Map(await hashes());
  assert.deepEqual(new Map(held.get('src:nodes') as [string, string][]), new Map([['home', '1']]));
  assert.deepEqual(new Map(held.get('src:resp') as [string, string][]), new Map([['answerer', '1']]));
  assert.deepEqual(new Map(held.get('src:streams') as [string, string][]), new Map([['client', '1']]));
  const bytes = new Map(held.get('srcbytes') as [string, string][]);
  assert.deepEqual([...bytes.keys()].sort(), ['answerer', 'client', 'home', 'poster']);
  assert.equal(Number(bytes.get('poster')), '"chunk"'.length);
  // Everything released (drained, fetched) or expired: no source is left holding anything.
  await b.legacy.drainStream('c1', T0 + 1);
  await b.legacy.retrieve('c2', T0 + 1);
  await a.legacy.expire(T0 + 10 * 60_000);
  assert.deepEqual(await hashes(), [], 'every per-source field went back to zero');
  assert.equal((await a.stats(T0 + 10 * 60_000)).storedBytes, 0);
});
