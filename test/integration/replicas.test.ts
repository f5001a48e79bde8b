// Three relay processes share one Redis; nodes and clients are spread round-robin over them, each
// node answering through a different replica than it polls, each client retrieving from a
// different replica than it submitted to. 2,000 legacy and 1,000 API v1 round trips, each
// delivered exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCluster } from './cluster.js';
import { runTraffic } from './traffic.js';
import { runV1Traffic } from './traffic-v1.js';

test('3 replicas on one Redis: 2,000 round trips each delivered exactly once', { timeout: 60_000 }, async (t) => {
  const cluster = await startCluster(t, 3);
  if (cluster === null) return;
  const result = await runTraffic({ urls: cluster.replicas.map((r) => r.url), nodes: 6, roundTrips: 2000, concurrency: 48 });
  t.diagnostic(`2000 round trips over 3 replicas in ${result.seconds.toFixed(1)} s`);
  assert.equal(result.accepted.size, 2000);
  assert.equal(result.delivered.size, 2000, 'every request answered');
  assert.ok(
    [...result.delivered.values()].every((n) => n === 1),
    'no response delivered twice',
  );
  assert.equal(result.received.size, 2000);
  assert.ok(
    [...result.received.values()].every((n) => n === 1),
    'no request handed to a node twice',
  );
  assert.equal(result.wrongAnswers, 0);
  assert.deepEqual([...result.errorStatuses], [], 'no error answers under normal load');
});

test('3 replicas on one Redis, API v1: 1,000 round trips each handed out and delivered exactly once', { timeout: 60_000 }, async (t) => {
  // Every simulated peer shares one loopback address, so the per-source shares are lifted.
  const cluster = await startCluster(t, 3, { TOKENPLACE_API_V1_MAX_REQUESTS_PER_SOURCE: '100000', TOKENPLACE_API_V1_MAX_QUEUE_PER_NODE_PER_SOURCE: '100000' });
  if (cluster === null) return;
  const nodes = 6;
  const result = await runV1Traffic({ urls: cluster.replicas.map((r) => r.url), nodes, roundTrips: 1000, concurrency: 24 });
  t.diagnostic(`1000 API v1 round trips over 3 replicas in ${result.seconds.toFixed(1)} s`);
  assert.deepEqual([...result.errorStatuses], [], 'no error answers under normal load');
  assert.equal(result.accepted.size, 1000);
  assert.equal(result.delivered.size, 1000, 'every request answered');
  assert.ok(
    [...result.delivered.values()].every((n) => n === 1),
    'no response delivered twice',
  );
  assert.equal(result.received.size, 1000);
  assert.ok(
    [...result.received.values()].every((n) => n === 1),
    'no request handed to a node twice',
  );
  assert.equal(result.wrongAnswers, 0);
  assert.equal(result.offered.size, nodes, 'selection on every replica spreads over every node');
});
