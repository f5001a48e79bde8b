// /healthz (readiness), /livez (liveness), /metrics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NODE_KEY, faucetBody, testRelay } from '../support/relay-app.js';

describe('operations endpoints', () => {
  it('/livez is always alive, draining included', async () => {
    const r = await testRelay();
    assert.deepEqual((await r.inject({ method: 'GET', url: '/livez' })).json(), { status: 'alive' });
    r.drain.start();
    const res = await r.inject({ method: 'GET', url: '/livez' });
    assert.equal(res.statusCode, 200);
    await r.app.close();
  });

  it('/healthz counts live nodes only and says when there are none', async () => {
    const r = await testRelay({}, { TOKENPLACE_RELAY_UPSTREAM_URL: 'http://gpu.internal:8000' });
    const empty = await r.inject({ method: 'GET', url: '/healthz' });
    assert.equal(empty.statusCode, 200);
    assert.equal(empty.headers['cache-control'], 'no-store');
    assert.deepEqual(empty.json(), {
      status: 'ok',
      upstream: 'http://gpu.internal:8000',
      gpuHost: 'gpu.internal',
      store: 'memory',
      knownServers: 0,
      details: { knownServers: 'empty' },
    });
    await r.post('/sink', { server_public_key: NODE_KEY });
    assert.equal((await r.inject({ method: 'GET', url: '/healthz' })).json().knownServers, 1);
    r.clock.advance(31_000);
    assert.equal((await r.inject({ method: 'GET', url: '/healthz' })).json().knownServers, 0, 'expired nodes are not counted');
    await r.app.close();
  });

  it('/healthz while draining: 503, Retry-After 0, no-store', async () => {
    const r = await testRelay();
    r.drain.start();
    const res = await r.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '0');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.json().status, 'draining');
    assert.deepEqual(res.json().details, { shutdown: true });
    await r.app.close();
  });

  it('the upstream DNS check is opt-in: an unresolvable GPU host does not make a default relay unready', async () => {
    const r = await testRelay({}, { TOKENPLACE_GPU_HOST: 'no-such-host.invalid' });
    assert.equal((await r.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    await r.app.close();
    const strict = await testRelay({ requireUpstreamHealth: true }, { TOKENPLACE_GPU_HOST: 'no-such-host.invalid' });
    let res = await strict.inject({ method: 'GET', url: '/healthz' });
    for (let i = 0; i < 50 && res.json().details?.gpuHostResolution === 'pending'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      res = await strict.inject({ method: 'GET', url: '/healthz' });
    }
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json().details, { gpuHostResolution: 'failed' });
    await strict.app.close();
  });

  it('/metrics: counters by route name, state gauges, limits; no keys anywhere', async () => {
    const r = await testRelay();
    await r.post('/sink', { server_public_key: NODE_KEY });
    await r.post('/faucet', faucetBody());
    await r.inject({ method: 'GET', url: `/some/${NODE_KEY}` });
    await r.post('/sink', { server_public_key: NODE_KEY });
    const res = await r.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const text = res.body;
    assert.match(text, /tokenplace_relay_requests_total\{method="POST",endpoint="sink",status="200"\} 2/);
    assert.match(text, /tokenplace_relay_requests_total\{method="GET",endpoint="unknown",status="404"\} 1/);
    assert.match(text, /tokenplace_relay_nodes 1/);
    assert.match(text, /tokenplace_relay_queued_requests 0/);
    assert.match(text, /tokenplace_relay_inflight_requests 1/);
    assert.match(text, /tokenplace_relay_pickup_latency_seconds_count 1/);
    assert.match(text, /tokenplace_relay_limit\{name="max_queue_per_node"\} 100/);
    assert.match(text, /process_resident_memory_bytes/);
    assert.ok(!text.includes(NODE_KEY) && !text.includes('NODE'), 'no key material in metrics');
    await r.app.close();
  });

  it('/metrics: share usage by cap kind, never by source', async () => {
    const r = await testRelay({ maxNodesPerSource: 4, maxQueuedPerSource: 8 });
    await r.post('/sink', { server_public_key: NODE_KEY });
    await r.post('/faucet', faucetBody());
    const text = (await r.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(text, /tokenplace_relay_share_sources\{cap="legacy_nodes"\} 1\n/);
    assert.match(text, /tokenplace_relay_share_top_ratio\{cap="legacy_nodes"\} 0\.25\n/, 'one node of a share of 4');
    assert.match(text, /tokenplace_relay_share_top_ratio\{cap="legacy_queued"\} 0\.125\n/, 'one request of a share of 8');
    assert.match(text, /tokenplace_relay_share_sources\{cap="bytes"\} 1\n/);
    assert.match(text, /tokenplace_relay_share_sources\{cap="v1_nodes"\} 0\n/);
    assert.match(text, /tokenplace_relay_share_top_ratio\{cap="legacy_responses"\} 0\n/);
    const labels = [...text.matchAll(/^tokenplace_relay_share_\w+\{([^}]*)\}/gm)].map((m) => m[1]);
    assert.equal(labels.length, 14, 'seven cap kinds, two gauges');
    for (const label of labels) assert.match(label!, /^cap="[a-z0-9_]+"$/, 'the cap kind is the only label');
    assert.ok(!text.includes('127.0.0.1'), 'no source address in metrics');
    await r.app.close();
  });

  it('/metrics with a bearer token configured', async () => {
    const r = await testRelay({ metricsToken: 'scrape-me' });
    assert.equal((await r.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
    assert.equal((await r.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } })).statusCode, 401);
    assert.equal((await r.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape-me' } })).statusCode, 200);
    await r.app.close();
  });

  it('expiry sweeps are counted in metrics', async () => {
    const r = await testRelay({ sweepIntervalMs: 20 });
    await r.post('/sink', { server_public_key: NODE_KEY });
    await r.post('/faucet', faucetBody());
    r.clock.advance(r.config.requestTtlSeconds * 1000 + 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = (await r.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(text, /tokenplace_relay_expirations_total\{kind="requests"\} 1/);
    assert.match(text, /tokenplace_relay_expirations_total\{kind="nodes"\} 1/);
    await r.app.close();
  });
});
