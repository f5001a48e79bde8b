// Faults with three relay processes on one Redis.
// 1. kill -9 one replica mid-traffic: peers move to the survivors, and every request accepted is
//    delivered — except one handed out by the dying replica in its last instant (popped from
//    Redis, reply never written), which the legacy protocol cannot acknowledge. Each such loss is
//    proven to be exactly that: a claim still in flight in Redis behind a broken sink, or a
//    response gone from Redis behind a broken retrieve. Anything else fails the test.
// 2. Redis restarted (no persistence): readiness drops with a reason, requests get JSON 503
//    store_unavailable with Retry-After at once (no hang), and everything recovers by itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { call, startCluster } from './cluster.js';
import { runTraffic } from './traffic.js';

const PREFIX = 'tokenplace:relay:v1:';

test('kill -9 of one replica mid-traffic: accepted requests are delivered through the survivors', { timeout: 60_000 }, async (t) => {
  const cluster = await startCluster(t, 3);
  if (cluster === null) return;
  const nodes = 6;
  let acceptedBeforeKill = -1;
  const killed = cluster.replicas[0]!;
  const result = await runTraffic({
    urls: cluster.replicas.map((r) => r.url),
    nodes,
    roundTrips: 1500,
    concurrency: 32,
    retrieveGiveUpMs: 15_000,
    onAccepted: (accepted) => {
      if (accepted === 400) {
        acceptedBeforeKill = accepted;
        void killed.kill('SIGKILL');
      }
    },
  });
  assert.equal(killed.child.signalCode, 'SIGKILL');
  const raw = new Redis(cluster.redis.url);
  raw.on('error', () => {});
  t.after(() => raw.disconnect());
  const lost = [...result.accepted].filter((j) => !result.delivered.has(j));
  let claimInTransit = 0;
  let responseInTransit = 0;
  for (const j of lost) {
    const claimed = (await raw.llen(`${PREFIX}j:client-${j}`)) > 0;
    if (!result.received.has(j) && claimed && result.nodesWithBrokenSink.has(j % nodes)) claimInTransit += 1;
    else if (result.sourced.has(j) && (await raw.exists(`${PREFIX}r:client-${j}`)) === 0 && result.clientsWithBrokenRetrieve.has(j)) responseInTransit += 1;
    else assert.fail(`request ${j} was accepted and lost without a broken connection to explain it`);
  }
  const summary = `accepted ${result.accepted.size} (${acceptedBeforeKill} before the kill), delivered ${result.delivered.size}, lost in the killed replica's last reply: ${claimInTransit} claims + ${responseInTransit} responses, ${result.seconds.toFixed(1)} s`;
  t.diagnostic(summary);
  assert.equal(result.accepted.size, 1500);
  assert.ok(
    [...result.delivered.values()].every((n) => n === 1),
    'no response delivered twice',
  );
  for (const [j, n] of result.received) {
    // A resubmission after a broken /faucet is a second request, not a double delivery.
    assert.ok(n === 1 || result.clientsWithBrokenFaucet.has(j), `request ${j} handed to a node ${n} times`);
  }
  assert.equal(result.wrongAnswers, 0);
  // At most the polls the killed replica was answering at that instant.
  assert.ok(claimInTransit + responseInTransit <= nodes + 32, summary);
  assert.ok(result.delivered.size >= result.accepted.size - (claimInTransit + responseInTransit));
});

test('Redis restart: readiness drops with a reason, clients get JSON 503s, then all recovers', { timeout: 60_000 }, async (t) => {
  const cluster = await startCluster(t, 2);
  if (cluster === null) return;
  const [a, b] = cluster.replicas.map((r) => r.url) as [string, string];
  const roundTrip = async (id: string): Promise<boolean> => {
    const sink = call(`${a}/sink`, { server_public_key: `node-${id}` });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const accepted = await call(`${b}/faucet`, { server_public_key: `node-${id}`, client_public_key: `c-${id}`, chat_history: 'h', cipherkey: 'k', iv: 'i' });
    const claimed = await sink;
    if (!accepted.ok || accepted.status !== 200 || !claimed.ok || claimed.body.client_public_key !== `c-${id}`) return false;
    await call(`${a}/source`, { client_public_key: `c-${id}`, chat_history: 'answer', cipherkey: 'k', iv: 'i' });
    const got = await call(`${b}/retrieve`, { client_public_key: `c-${id}` });
    return got.ok && got.body.chat_history === 'answer';
  };
  assert.equal(await roundTrip('before'), true);

  await cluster.redis.stop(true);
  for (const url of [a, b]) {
    const health = await call(`${url}/healthz`, undefined, 10_000);
    assert.ok(health.ok, 'readiness answers, it does not hang');
    assert.equal(health.status, 503);
    assert.equal(health.body.status, 'degraded');
    assert.match(String((health.body.details as Record<string, unknown>).store), /^redis unreachable/);
  }
  const requests = [
    [`${b}/faucet`, { server_public_key: 'n', client_public_key: 'c', chat_history: 'h', cipherkey: 'k', iv: 'i' }],
    [`${a}/sink`, { server_public_key: 'n' }],
    [`${b}/retrieve`, { client_public_key: 'c' }],
    [`${a}/next_server`, undefined],
  ] as const;
  for (const [url, body] of requests) {
    const answer = await call(url, body, 10_000);
    assert.ok(answer.ok, `${url} answered (no hang)`);
    assert.equal(answer.status, 503, url);
    assert.equal(answer.body.code, 'store_unavailable', url);
    assert.equal(answer.headers.get('retry-after'), '2', url);
  }

  await cluster.redis.restart();
  for (const url of [a, b]) {
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      const health = await call(`${url}/healthz`);
      status = health.ok ? health.status : 0;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 200, `${url} ready again`);
  }
  assert.equal(await roundTrip('after'), true, 'round trips work again on the fresh Redis');
});
