// Round trips per second through the Redis store in each connection mode, one run each, same
// machine, same code: standalone, Sentinel (1 primary, 1 replica, 3 sentinels), Sentinel with
// WAIT 1 on v1 admission and answer, and Cluster (3 primaries). A legacy round trip is register +
// enqueue + claim + complete + retrieve; a v1 round trip is admit + claim + accept + retrieve.
// Store level (no HTTP), 32 concurrent round trips: the figures compare the modes with one
// another (same-run ratios), they are not the relay's HTTP throughput (bench/run.ts).
// Usage: node --import tsx bench/redis-modes.ts [seconds per figure, default 3]
import { RedisStore, type RedisStoreOptions } from '../src/store/redis.js';
import type { StoreLimits } from '../src/store/types.js';
import { launchRedis } from '../test/support/redis-server.js';
import { startRedisCluster, startSentinel } from '../test/support/redis-topology.js';
import { normaliseCapabilities } from '../src/protocols/v1/capabilities.js';
import { CAPS as WIRE_CAPS } from '../test/support/v1-capabilities.js';

const CAPS = normaliseCapabilities(WIRE_CAPS);
import { findTool } from '../test/support/tools.js';

const SECONDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = 32;
const LIMITS: StoreLimits = {
  v1LeaseMs: 1e9,
  v1InflightLeaseMs: 1e9,
  v1DeadlineMs: 1e9,
  v1MaxNodesPerSource: 1000,
  maxNodesPerSource: 1000,
  nodeTtlMs: 60_000,
  requestTtlMs: 60_000,
  responseTtlMs: 60_000,
  streamTtlMs: 60_000,
  maxNodes: 1000,
  maxQueuePerNode: 10_000,
  maxQueuePerClient: 100,
  maxQueuedTotal: 100_000,
  maxResponses: 100_000,
  maxStreamSessions: 100,
  maxStreamChunks: 100,
  maxStoredBytes: 1e9,
  v1MaxRequests: 100_000,
  v1MaxQueuePerNode: 10_000,
  v1MaxRequestsPerSource: 100_000,
  v1MaxQueuePerNodePerSource: 10_000,
};

const cleanups: (() => unknown)[] = [];
const ctx = { after: (fn: () => unknown) => cleanups.push(fn), skip: () => {}, diagnostic: () => {} } as unknown as Parameters<typeof startSentinel>[0];

async function measure(options: Omit<RedisStoreOptions, 'prefix'>): Promise<{ legacy: number; v1: number }> {
  const store = new RedisStore(LIMITS, { ...options, prefix: `bench:${process.pid}:${Math.random().toString(36).slice(2)}:`, commandTimeoutMs: 5000 });
  await store.ready(10_000);
  let now = Date.now();
  const clock = () => (now += 1);
  const rate = async (roundTrip: (worker: number, i: number) => Promise<void>) => {
    let count = 0;
    const end = Date.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, w) => {
        for (let i = 0; Date.now() < end; i += 1) {
          await roundTrip(w, i);
          count += 1;
        }
      }),
    );
    return count / SECONDS;
  };
  const legacy = await rate(async (w, i) => {
    const node = `n${w}`;
    const client = `c${w}-${i}`;
    await store.legacy.register(node, clock());
    await store.legacy.enqueue(node, { clientKey: client, chatHistory: 'x'.repeat(200), cipherkey: 'k', iv: 'i', stream: false }, clock());
    await store.legacy.claim(node, 1, clock());
    await store.legacy.complete(client, { chatHistory: 'y'.repeat(200), cipherkey: 'k', iv: 'i' }, clock());
    await store.legacy.retrieve(client, clock());
  });
  for (let w = 0; w < CONCURRENCY; w += 1) await store.v1.registerNode(`v${w}`, CAPS, `d${w}`, clock());
  const v1 = await rate(async (w, i) => {
    const node = `v${w}`;
    const client = `vc${w}`;
    const id = `r${i}`;
    const admitted = await store.v1.admitRequest(
      { nodeKey: node, clientKey: client, requestId: id, ciphertext: 'x'.repeat(200), cipherkey: 'k', iv: 'i', cancelTokenDigest: null },
      clock(),
    );
    if (!admitted.ok) throw new Error(`admit: ${admitted.reason}`);
    await store.v1.claimRequest(node, clock());
    await store.v1.acceptResponse(client, id, { ciphertext: 'y'.repeat(200), cipherkey: 'k', iv: 'i' }, clock(), { nodeKey: node });
    await store.v1.retrieveResponse(client, id, clock(), { ack: true });
  });
  await store.close();
  return { legacy, v1 };
}

const rows: [string, { legacy: number; v1: number }][] = [];
try {
  const server = findTool('redis-server');
  if (server === null) throw new Error('redis-server not found (apt-get install redis-server redis-sentinel)');
  const standalone = await launchRedis(server);
  cleanups.push(() => standalone.stop(true));
  rows.push(['standalone', await measure({ url: standalone.url })]);
  const sentinel = (await startSentinel(ctx))!;
  const viaSentinel = { sentinel: { sentinels: sentinel.addresses, name: sentinel.master } };
  rows.push(['sentinel', await measure(viaSentinel)]);
  rows.push(['sentinel + WAIT 1 (v1)', await measure({ ...viaSentinel, waitReplicas: 1, waitTimeoutMs: 100 })]);
  const cluster = (await startRedisCluster(ctx))!;
  rows.push(['cluster (3 primaries)', await measure({ cluster: { nodes: cluster.addresses } })]);
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
const base = rows[0]![1];
console.log(`round trips/s through the Redis store (${CONCURRENCY} concurrent, ${SECONDS} s each, one run)`);
console.log('mode                      legacy   (x standalone)   v1      (x standalone)');
for (const [name, r] of rows) {
  console.log(
    `${name.padEnd(24)}  ${r.legacy.toFixed(0).padStart(6)}   (${(r.legacy / base.legacy).toFixed(2)})           ${r.v1.toFixed(0).padStart(6)}  (${(r.v1 / base.v1).toFixed(2)})`,
  );
}
