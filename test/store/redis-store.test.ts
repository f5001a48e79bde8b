// The store contract suites (legacy and API v1), unchanged, against a real redis-server.
import { test } from 'node:test';
import { RedisStore } from '../../src/store/redis.js';
import type { StoreLimits } from '../../src/store/types.js';
import { findTool, requireTool } from '../support/tools.js';
import { launchRedis, type RedisServer } from '../support/redis-server.js';
import { storeContract } from './contract.js';
import { storeContractV1 } from './contract-v1.js';

const binary = findTool('redis-server');
if (binary === null) {
  test('redis store contract', (t) => {
    requireTool(t, 'redis-server', 'apt-get install redis-server');
  });
} else {
  let n = 0;
  const suites = [
    { name: 'redis', run: storeContract },
    { name: 'redis', run: storeContractV1 },
  ];
  for (const { name, run } of suites) {
    // One redis-server per suite, started and stopped by the suite's own hooks.
    let redis: RedisServer | undefined;
    run(
      name,
      async (limits: StoreLimits) => {
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
}
