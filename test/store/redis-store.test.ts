// The store contract suite, unchanged, against a real redis-server.
import { test } from 'node:test';
import { RedisStore } from '../../src/store/redis-store.js';
import { findTool, requireTool } from '../support/tools.js';
import { launchRedis, type RedisServer } from '../support/redis-server.js';
import { storeContract } from './contract.js';

const binary = findTool('redis-server');
if (binary === null) {
  test('redis store contract', (t) => {
    requireTool(t, 'redis-server', 'apt-get install redis-server');
  });
} else {
  let redis: RedisServer | undefined;
  let n = 0;
  storeContract(
    'redis',
    async (limits) => {
      // A fresh namespace per store: tests never see each other's keys.
      n += 1;
      const store = new RedisStore(limits, { url: redis!.url, prefix: `contract:${process.pid}:${n}:` });
      await store.ready();
      return store;
    },
    {
      setup: async () => {
        redis = await launchRedis(binary);
      },
      teardown: async () => {
        await redis?.stop(true);
      },
    },
  );
}
