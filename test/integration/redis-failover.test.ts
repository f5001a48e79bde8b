// Failover under load: 3 relay replicas on Redis behind Sentinel (1 primary, 1 replica, 3
// sentinels), honest traffic of both protocols, kill -9 of the primary mid-traffic; Sentinel
// promotes the replica and the relay recovers by itself. Prints the time to recover and accepted
// vs delivered per protocol, without and with WAIT (TOKENPLACE_REDIS_WAIT_REPLICAS=1) for v1
// admission and answer. Asserted: recovery, no double delivery, no wrong answer, and nothing
// accepted after recovery lost. Losses at the failover itself are reported (asynchronous
// replication), and asserted zero for v1 only with WAIT.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { CLI, call, startReplica, type Replica } from './cluster.js';
import { runTraffic } from './traffic.js';
import { startSentinel } from '../support/redis-topology.js';
import { runV1FailoverTraffic } from '../support/redis-traffic-v1.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function failover(t: TestContext, wait: boolean): Promise<void> {
  assert.ok(existsSync(CLI), 'run `npm run build` first');
  const setup = await startSentinel(t);
  if (setup === null) return;
  const env = {
    ...setup.env,
    TOKENPLACE_REDIS_URL: '',
    TOKENPLACE_REDIS_COMMAND_TIMEOUT_MS: '500',
    TOKENPLACE_REDIS_CONNECT_TIMEOUT_MS: '500',
    // A claim whose reply died with the primary comes back when its in-flight lease lapses; the
    // test's nodes answer at once, so 5 s (not the 30 s default) brings it back within the
    // clients' give-up.
    TOKEN_PLACE_API_V1_IN_FLIGHT_TTL_SECONDS: '5',
    ...(wait ? { TOKENPLACE_REDIS_WAIT_REPLICAS: '1', TOKENPLACE_REDIS_WAIT_TIMEOUT_MS: '100' } : {}),
  };
  const replicas: Replica[] = [];
  t.after(() => Promise.all(replicas.map((r) => r.kill('SIGKILL'))));
  for (let i = 0; i < 3; i += 1) replicas.push(await startReplica('', env));
  const urls = replicas.map((r) => r.url);

  let killedAt = 0;
  let recoveredAt = 0;
  const killer = (async () => {
    await sleep(1500);
    killedAt = Date.now();
    await setup.primary.stop(true);
    // Recovered: every replica ready again (store reachable through the promoted primary).
    for (;;) {
      const health = await Promise.all(urls.map((u) => call(`${u}/healthz`, undefined, 1000)));
      if (health.every((h) => h.ok && h.status === 200) && (await setup.currentPrimary()) === setup.replica.port) break;
      await sleep(50);
    }
    recoveredAt = Date.now();
    // The old primary comes back empty and Sentinel makes it the new primary's replica, so
    // WAIT has a replica to wait for again.
    await setup.primary.start();
  })();
  const [legacy, v1] = await Promise.all([
    runTraffic({ urls, nodes: 6, roundTrips: 1500, concurrency: 12, retrieveGiveUpMs: 12_000 }),
    runV1FailoverTraffic({ urls, nodes: 6, roundTrips: 1500, concurrency: 12, giveUpMs: 12_000 }),
  ]);
  await killer;
  assert.ok(killedAt > 0 && recoveredAt > killedAt, 'the relay recovered by itself');
  const recovery = (recoveredAt - killedAt) / 1000;
  const v1Lost = [...v1.accepted.keys()].filter((k) => !v1.delivered.has(k));
  const v1LostAfter = v1Lost.filter((k) => v1.accepted.get(k)! > recoveredAt);
  const legacyLost = [...legacy.accepted].filter((j) => !legacy.delivered.has(j));
  const summary =
    `WAIT ${wait ? 'on (1 replica, 100 ms)' : 'off'}: recovered in ${recovery.toFixed(1)} s; ` +
    `legacy accepted ${legacy.accepted.size}, delivered ${legacy.delivered.size}, lost ${legacyLost.length}; ` +
    `v1 accepted ${v1.accepted.size}, delivered ${v1.delivered.size}, lost ${v1Lost.length} (${v1LostAfter.length} accepted after recovery); ` +
    `v1 refusals ${JSON.stringify(Object.fromEntries(v1.statuses))}, legacy refusals ${JSON.stringify(Object.fromEntries(legacy.errorStatuses))}`;
  t.diagnostic(summary);
  console.log(`redis failover: ${summary}`);
  assert.ok(
    [...legacy.delivered.values()].every((n) => n === 1),
    'no legacy answer delivered twice',
  );
  assert.ok(
    [...v1.delivered.values()].every((n) => n === 1),
    'no v1 answer delivered twice',
  );
  assert.equal(legacy.wrongAnswers + v1.wrongAnswers, 0);
  assert.deepEqual(v1LostAfter, [], 'nothing accepted after recovery is lost');
  assert.ok(v1.accepted.size > 1000 && legacy.accepted.size > 1000, 'traffic went on after the failover');
  if (wait) assert.deepEqual(v1Lost, [], 'with WAIT, no v1 admission or answer is lost');
}

test('sentinel failover under load: kill -9 of the primary, without WAIT', { timeout: 90_000 }, (t) => failover(t, false));
test('sentinel failover under load: kill -9 of the primary, with WAIT for v1', { timeout: 90_000 }, (t) => failover(t, true));
