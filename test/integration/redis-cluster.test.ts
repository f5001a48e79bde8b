// Redis Cluster (3 primaries, `redis-cli --cluster create`): 3 relay replicas, 2,000 round trips
// of each protocol delivered exactly once; then the same with a kill -9 and restart of the
// primary that owns the relay's slot mid-traffic (AOF with fsync always, so the restarted
// primary keeps what it acknowledged; requests meanwhile get 503 and are retried).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { CLI, startReplica, type Replica } from './cluster.js';
import { runTraffic } from './traffic.js';
import { clusterHealthy, startRedisCluster } from '../support/redis-topology.js';
import { runV1FailoverTraffic } from '../support/redis-traffic-v1.js';
import { storePrefix } from '../../src/store/redis/prefix.js';

const ROUND_TRIPS = 2000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(t: TestContext, restart: boolean): Promise<void> {
  assert.ok(existsSync(CLI), 'run `npm run build` first');
  const setup = await startRedisCluster(t, restart);
  if (setup === null) return;
  const env = {
    ...setup.env,
    TOKENPLACE_REDIS_URL: '',
    TOKENPLACE_REDIS_COMMAND_TIMEOUT_MS: '1000',
    TOKENPLACE_REDIS_CONNECT_TIMEOUT_MS: '500',
    // A claim whose reply died with the primary comes back when its in-flight lease lapses; the
    // test's nodes answer at once, so 5 s (not the 30 s default) brings it back within the
    // clients' give-up.
    TOKEN_PLACE_API_V1_IN_FLIGHT_TTL_SECONDS: '5',
  };
  const replicas: Replica[] = [];
  t.after(() => Promise.all(replicas.map((r) => r.kill('SIGKILL'))));
  for (let i = 0; i < 3; i += 1) replicas.push(await startReplica('', env));
  const urls = replicas.map((r) => r.url);
  const owner = await setup.ownerOf(`${storePrefix('tokenplace:relay:v1:', true)}counts`);
  let downMs = 0;
  const restarter = restart
    ? (async () => {
        await sleep(1500);
        const at = Date.now();
        await owner.stop(true);
        await owner.start();
        await clusterHealthy(setup);
        downMs = Date.now() - at;
      })()
    : Promise.resolve();
  const started = Date.now();
  const [legacy, v1] = await Promise.all([
    runTraffic({ urls, nodes: 6, roundTrips: ROUND_TRIPS, concurrency: 12, retrieveGiveUpMs: 15_000 }),
    runV1FailoverTraffic({ urls, nodes: 6, roundTrips: ROUND_TRIPS, concurrency: 12, giveUpMs: 15_000 }),
  ]);
  await restarter;
  const seconds = (Date.now() - started) / 1000;
  const summary = `cluster${restart ? `, slot owner killed and restarted (${(downMs / 1000).toFixed(1)} s until cluster_state:ok)` : ''}: legacy accepted ${legacy.accepted.size}, delivered ${legacy.delivered.size}; v1 accepted ${v1.accepted.size}, delivered ${v1.delivered.size}; ${seconds.toFixed(1)} s; refusals legacy ${JSON.stringify(Object.fromEntries(legacy.errorStatuses))} v1 ${JSON.stringify(Object.fromEntries(v1.statuses))}`;
  t.diagnostic(summary);
  console.log(`redis ${summary}`);
  assert.equal(legacy.accepted.size, ROUND_TRIPS);
  assert.equal(v1.accepted.size, ROUND_TRIPS);
  if (restart) {
    // A legacy /retrieve pops the answer: when the primary dies after the pop but before the reply
    // reaches the relay, that answer is gone (the call fails with 503). An API v1 answer stays
    // until acknowledged and then replays by id for a while (the ack's reply may be the one
    // lost), so v1 loses none. A legacy loss needs such a failed call.
    const failedLegacyCalls = [...legacy.errorStatuses.values()].reduce((a, b) => a + b, 0);
    assert.ok(legacy.delivered.size >= ROUND_TRIPS - failedLegacyCalls, `legacy delivered ${legacy.delivered.size} with ${failedLegacyCalls} failed calls`);
  } else {
    assert.equal(legacy.delivered.size, ROUND_TRIPS, 'every legacy round trip delivered');
  }
  assert.equal(v1.delivered.size, ROUND_TRIPS, 'every v1 round trip delivered');
  assert.ok(
    [...legacy.delivered.values(), ...v1.delivered.values()].every((n) => n === 1),
    'exactly once',
  );
  assert.equal(legacy.wrongAnswers + v1.wrongAnswers, 0);
  // Refusals while the slot's primary is away are 503 store_unavailable, never a 500 (a restarted
  // primary has no scripts cached: the store falls back to EVAL).
  const fiveHundreds = [...legacy.errorStatuses, ...v1.statuses].filter(([status]) => status.startsWith('500'));
  assert.deepEqual(fiveHundreds, [], 'no 500 during the restart');
}

test('redis cluster: 3 relay replicas, 2,000 round trips of each protocol, exactly once', { timeout: 90_000 }, (t) => run(t, false));
test('redis cluster: the same with the slot owner killed and restarted mid-traffic', { timeout: 90_000 }, (t) => run(t, true));
