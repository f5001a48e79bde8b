// The store contract suites (legacy and API v1), unchanged, against Redis behind Sentinel
// (1 primary, 1 replica, 3 sentinels) and against a Redis Cluster of 3 primaries. A script that
// touched a key outside its declared slot would fail on the Cluster run ("non local key").
import { test } from 'node:test';
import { RedisStore } from '../../src/store/redis.js';
import type { StoreLimits } from '../../src/store/types.js';
import { findTool, requireTool } from '../support/tools.js';
import { startRedisCluster, startSentinel, type ClusterSetup, type SentinelSetup } from '../support/redis-topology.js';
import { storeContract } from './contract.js';
import { storeContractV1 } from './contract-v1.js';

const missing = ['redis-server', 'redis-sentinel', 'redis-cli'].filter((tool) => findTool(tool) === null);
if (missing.length > 0) {
  test('redis store contract: sentinel and cluster', (t) => {
    for (const tool of missing) requireTool(t, tool, 'apt-get install redis-server redis-sentinel redis-tools');
  });
} else {
  let n = 0;
  for (const run of [storeContract, storeContractV1]) {
    // The topologies are started by the suite's hooks; a TestContext stand-in collects their cleanup.
    const cleanups: (() => unknown)[] = [];
    const ctx = { after: (fn: () => unknown) => cleanups.push(fn), skip: () => {}, diagnostic: () => {} } as unknown as Parameters<typeof startSentinel>[0];
    let sentinel: SentinelSetup | null = null;
    run(
      'redis sentinel',
      async (limits: StoreLimits) => {
        n += 1;
        const store = new RedisStore(limits, { sentinel: { sentinels: sentinel!.addresses, name: sentinel!.master }, prefix: `contract:${process.pid}:${n}:` });
        await store.ready();
        return store;
      },
      {
        setup: async () => {
          sentinel = await startSentinel(ctx);
        },
        teardown: async () => {
          for (const fn of cleanups.splice(0)) await fn();
        },
      },
    );
    const clusterCleanups: (() => unknown)[] = [];
    const cctx = { after: (fn: () => unknown) => clusterCleanups.push(fn), skip: () => {}, diagnostic: () => {} } as unknown as Parameters<
      typeof startRedisCluster
    >[0];
    let cluster: ClusterSetup | null = null;
    run(
      'redis cluster',
      async (limits: StoreLimits) => {
        n += 1;
        const store = new RedisStore(limits, { cluster: { nodes: cluster!.addresses }, prefix: `contract:${process.pid}:${n}:` });
        await store.ready();
        return store;
      },
      {
        setup: async () => {
          cluster = await startRedisCluster(cctx);
        },
        teardown: async () => {
          for (const fn of clusterCleanups.splice(0)) await fn();
        },
      },
    );
  }
}
