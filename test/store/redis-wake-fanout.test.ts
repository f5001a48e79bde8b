// Wake-ups with the Redis store at scale: one pub/sub subscription per process, however many
// polls it holds, fanned out in memory to exactly the waiters of each key, whichever replica
// made the transition; and every waiter woken once after the subscriber reconnects.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/store/redis.js';
import type { StoreLimits, Waiter } from '../../src/store/types.js';
import { launchRedis, type RedisServer } from '../support/redis-server.js';
import { findTool, requireTool } from '../support/tools.js';
import { CONTRACT_LIMITS, request } from './contract.js';

const T0 = Date.UTC(2026, 0, 1);
const KEYS = 500;
const PER_KEY = 4;
const LIMITS: StoreLimits = {
  ...CONTRACT_LIMITS,
  maxNodes: 10,
  maxQueuePerNode: 2 * KEYS,
  maxQueuedTotal: 2 * KEYS,
  maxResponses: 2 * KEYS,
  maxStoredBytes: 10_000_000,
};

const binary = findTool('redis-server');

async function pubsubClients(raw: Redis): Promise<number> {
  const list = (await raw.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
  return list.split('\n').filter((line) => line.trim() !== '').length;
}

describe('Redis store wake-ups fanned out to many held polls', { skip: binary === null }, () => {
  let redis: RedisServer;
  let raw: Redis;
  let holder: RedisStore;
  let other: RedisStore;
  const prefix = `fanout:${process.pid}:`;

  before(async () => {
    redis = await launchRedis(binary!);
    raw = new Redis(redis.url);
    holder = new RedisStore(LIMITS, { url: redis.url, prefix });
    other = new RedisStore(LIMITS, { url: redis.url, prefix });
    await holder.ready();
    await other.ready();
  });

  after(async () => {
    await holder?.close();
    await other?.close();
    raw?.disconnect();
    await redis?.stop(true);
  });

  it('one subscription per store; a transition on another replica wakes exactly that key’s waiters', async () => {
    const channel = `${prefix}wake`;
    const before = (await raw.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
    assert.equal(Number(before[1]), 2);

    const waiters: { key: number; waiter: Waiter }[] = [];
    for (let k = 0; k < KEYS; k += 1) for (let j = 0; j < PER_KEY; j += 1) waiters.push({ key: k, waiter: holder.watch('response', `c${k}`) });
    assert.equal(holder.waiters, KEYS * PER_KEY);
    const during = (await raw.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
    assert.equal(Number(during[1]), 2, 'held polls add no subscriptions');
    assert.equal(await pubsubClients(raw), 2);

    // Even keys get their answer (from the other replica); odd keys get nothing.
    await other.legacy.register('n1', T0);
    for (let k = 0; k < KEYS; k += 2) assert.equal((await other.legacy.enqueue('n1', request(`c${k}`), T0)).ok, true);
    const results = waiters.map(({ key, waiter }) => waiter.wait(key % 2 === 0 ? 15_000 : 1500).then((woken) => ({ key, woken })));
    let claimed = 0;
    while (claimed < KEYS / 2) {
      const items = await other.legacy.claim('n1', 50, T0);
      assert.ok(items.length > 0);
      for (const item of items) await other.legacy.complete(item.clientKey, { chatHistory: 'h', cipherkey: 'k', iv: 'i' }, T0);
      claimed += items.length;
    }
    for (const { key, woken } of await Promise.all(results)) assert.equal(woken, key % 2 === 0, `c${key}`);

    for (const { waiter } of waiters) waiter.close();
    assert.equal(holder.waiters, 0);
  });

  it('after the subscriber reconnects, every held poll is woken once to look again', async () => {
    const waiters = Array.from({ length: 1000 }, (_, i) => holder.watch(i % 2 === 0 ? 'work' : 'response', `k${i % 250}`));
    const results = waiters.map((w) => w.wait(20_000));
    await raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    assert.deepEqual(new Set(await Promise.all(results)), new Set([true]));
    for (const w of waiters) w.close();
    assert.equal(holder.waiters, 0);
  });
});

if (binary === null) {
  it('redis wake fan-out', (t) => {
    requireTool(t, 'redis-server', 'apt-get install redis-server');
  });
}
