// Rate limits with the Redis store are global: two relays on one redis-server spend one budget per
// client, and while Redis is away the limits let requests through (counting the failure) rather
// than refusing everyone.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { configWith } from '../../src/config.js';
import { storeLimits } from '../../src/store/limits.js';
import { RedisStore } from '../../src/store/redis.js';
import { FakeClock } from '../support/fake-clock.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const PUBLIC_A = '203.0.113.10';
const PUBLIC_B = '203.0.113.20';
let n = 0;

/** `count` relays (each with its own store connections) on one namespace, closed after the test. */
async function relays(
  t: TestContext,
  redis: RedisServer,
  count: number,
  clientBurst = 6,
  clientKeyBurst = 120,
): Promise<{ app: FastifyInstance; store: RedisStore }[]> {
  const prefix = `rl-http:${process.pid}:${++n}:`;
  const base = configWith({ logLevel: 'silent', sinkHoldMs: 0, retrieveHoldMs: 0, store: 'redis', redisUrl: redis.url, redisPrefix: prefix });
  const config = configWith({
    ...base,
    rateLimits: { ...base.rateLimits, client: { perMinute: 60, burst: clientBurst }, client_key: { perMinute: 60, burst: clientKeyBurst } },
  });
  const clock = new FakeClock();
  const out: { app: FastifyInstance; store: RedisStore }[] = [];
  const stores: RedisStore[] = [];
  // Registered before anything connects: a start that fails half-way still closes what it opened.
  t.after(async () => {
    for (const { app } of out) await app.close();
    for (const store of stores) await store.close();
  });
  for (let i = 0; i < count; i += 1) {
    const store = new RedisStore(storeLimits(config), { url: redis.url, prefix, commandTimeoutMs: 500, connectTimeoutMs: 500 });
    stores.push(store);
    await store.ready();
    const app = await buildApp({ config, store, clock });
    await app.ready();
    out.push({ app, store });
  }
  return out;
}

const retrieve = (app: FastifyInstance, remoteAddress: string) =>
  app.inject({
    method: 'POST',
    url: '/retrieve',
    remoteAddress,
    headers: { 'content-type': 'application/json' },
    payload: { client_public_key: Buffer.from('client').toString('base64') },
  });

async function counterErrors(app: FastifyInstance): Promise<number> {
  const text = await app.relay.metrics.registry.getSingleMetricAsString('tokenplace_relay_rate_limit_errors_total');
  const line = text.split('\n').find((l) => l.startsWith('tokenplace_relay_rate_limit_errors_total '));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

test('two relays on one Redis share one budget: half the burst on each, then both answer 429', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await relays(t, redis, 2);
  const statuses = [];
  for (let i = 0; i < 3; i += 1) statuses.push((await retrieve(a!.app, PUBLIC_A)).statusCode);
  for (let i = 0; i < 3; i += 1) statuses.push((await retrieve(b!.app, PUBLIC_A)).statusCode);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
  for (const relay of [a!, b!]) {
    const refused = await retrieve(relay.app, PUBLIC_A);
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.json().code, 'rate_limited');
  }
  // Another address has its own bucket, on either relay.
  assert.equal((await retrieve(b!.app, PUBLIC_B)).statusCode, 200);
  assert.equal(await counterErrors(a!.app), 0);
});

test("a client-key bucket is (key, source) and global: a third party spends its own across replicas, never the victim's", async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a, b] = await relays(t, redis, 2, 1000, 4);
  const attacker = [];
  for (let i = 0; i < 2; i += 1) attacker.push((await retrieve(a!.app, PUBLIC_A)).statusCode);
  for (let i = 0; i < 3; i += 1) attacker.push((await retrieve(b!.app, PUBLIC_A)).statusCode);
  // Four from the bucket, spread over both replicas, then refused on either.
  assert.deepEqual(attacker, [200, 200, 200, 200, 429]);
  assert.equal((await retrieve(a!.app, PUBLIC_A)).statusCode, 429);
  // The victim names the same key from its own address: untouched on both replicas.
  const victim = [];
  for (const relay of [a!, b!, a!, b!]) victim.push((await retrieve(relay.app, PUBLIC_B)).statusCode);
  assert.deepEqual(victim, [200, 200, 200, 200]);
});

test('Redis unreachable: the limits let requests through and count the failure', async (t) => {
  const redis = await startRedis(t);
  if (redis === null) return;
  const [a] = await relays(t, redis, 1);
  await redis.stop(true);
  for (let i = 0; i < 10; i += 1) {
    const res = await retrieve(a!.app, PUBLIC_A);
    // The store is down too, so the route answers its own 503; never a 429 from a dead counter.
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'store_unavailable');
  }
  // Each /retrieve checks two budgets: its address before the body, its client key after.
  assert.equal(await counterErrors(a!.app), 20);
});
