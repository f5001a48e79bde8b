// GET /ops/state (the operator page's data) and GET /ops: who may read it, what it holds, that it
// never holds a key or a payload, and that its latency percentiles are right for known observations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { generateKeyPair } from '../../src/crypto/index.js';
import { keyFingerprint } from '../../src/core/fingerprint.js';
import { CONTENT_SECURITY_POLICY } from '../../src/page/routes.js';
import { bucketQuantile, opsNode, summariseHistogram } from '../../src/ops/state.js';
import type { OpsNode } from '../../src/ops/state-wire.js';
import { ensureBuilt } from '../node/harness.js';
import { testRelay, type TestRelay } from '../support/relay-app.js';
import { CAPS } from '../support/v1-capabilities.js';

const OPS_TOKEN = 'ops-token-for-tests-0123456789';
const NODE_TOKEN = 'node-token-for-tests';
const OUTSIDE = '203.0.113.9';

async function relayWith(overrides: Parameters<typeof testRelay>[0] = {}): Promise<TestRelay> {
  return testRelay({ v1PollWaitSeconds: 0, ...overrides }, { TOKEN_PLACE_RELAY_SERVER_TOKEN: NODE_TOKEN });
}

function state(r: TestRelay, remoteAddress: string, headers: Record<string, string> = {}) {
  return r.inject({ method: 'GET', url: '/ops/state', remoteAddress, headers });
}

describe('/ops/state access', () => {
  it('from outside: 401 ops_unauthorized without or with a wrong token, 200 with the ops token', async (t) => {
    const r = await relayWith({ metricsToken: OPS_TOKEN });
    t.after(() => r.app.close());
    const none = await state(r, OUTSIDE);
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().code, 'ops_unauthorized');
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal(none.headers['cache-control'], 'no-store');
    assert.doesNotMatch(none.body, /generatedAt|nodes/);
    for (const wrong of [`Bearer ${OPS_TOKEN}x`, 'Bearer ', `Basic ${OPS_TOKEN}`, OPS_TOKEN]) {
      const res = await state(r, OUTSIDE, { authorization: wrong });
      assert.equal(res.statusCode, 401, wrong);
      assert.equal(res.json().code, 'ops_unauthorized');
    }
    const ok = await state(r, OUTSIDE, { authorization: `Bearer ${OPS_TOKEN}` });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(typeof ok.json().generatedAt, 'string');
  });

  it('from a cluster-internal address: 200 without a token (loopback, pod network, IPv6 ULA)', async (t) => {
    const r = await relayWith({ metricsToken: OPS_TOKEN });
    t.after(() => r.app.close());
    for (const address of ['127.0.0.1', '10.42.3.7', '192.168.1.20', 'fd00::5']) {
      const res = await state(r, address);
      assert.equal(res.statusCode, 200, `${address}: ${res.body}`);
    }
  });

  it('without an ops token configured, outside addresses get 403 ops_forbidden and a token does not help', async (t) => {
    const r = await relayWith();
    t.after(() => r.app.close());
    const res = await state(r, OUTSIDE, { authorization: `Bearer ${OPS_TOKEN}` });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'ops_forbidden');
    assert.equal(res.headers['www-authenticate'], undefined);
    assert.equal((await state(r, '10.0.0.1')).statusCode, 200);
  });

  it('a forwarded request from an ingress that is not a trusted proxy needs the token, even from an internal peer', async (t) => {
    // TOKENPLACE_TRUSTED_PROXIES unset: the ingress pod (10.42.x) forwards internet clients.
    const r = await relayWith({ metricsToken: OPS_TOKEN });
    t.after(() => r.app.close());
    const forwarded = await state(r, '10.42.0.7', { 'x-forwarded-for': '198.51.100.4' });
    assert.equal(forwarded.statusCode, 401);
    assert.equal(forwarded.json().code, 'ops_unauthorized');
    const cf = await state(r, '10.42.0.7', { 'cf-connecting-ip': '198.51.100.4' });
    assert.equal(cf.statusCode, 401);
    assert.equal((await state(r, '10.42.0.7', { 'x-forwarded-for': '198.51.100.4', authorization: `Bearer ${OPS_TOKEN}` })).statusCode, 200);
  });

  it('behind a trusted proxy the resolved client decides: internet client refused, in-cluster client let in', async (t) => {
    const r = await relayWith({ trustedProxies: ['10.42.0.0/16'] });
    t.after(() => r.app.close());
    const outside = await state(r, '10.42.0.7', { 'x-forwarded-for': '198.51.100.4' });
    assert.equal(outside.statusCode, 403);
    assert.equal(outside.json().code, 'ops_forbidden');
    // A client that forges an internal address to the left of its own is still itself.
    const forged = await state(r, '10.42.0.7', { 'x-forwarded-for': '10.0.0.1, 198.51.100.4' });
    assert.equal(forged.statusCode, 403);
    assert.equal((await state(r, '10.42.0.7', { 'x-forwarded-for': '10.9.8.7' })).statusCode, 200);
  });

  it('the route has a name and the ops rate-limit plan: outside addresses run out, internal ones never', async (t) => {
    const r = await relayWith({ metricsToken: OPS_TOKEN });
    t.after(() => r.app.close());
    assert.equal(r.app.relay.config.rateLimits.ops.burst > 0, true);
    const burst = r.app.relay.config.rateLimits.ops.burst;
    let limited = 0;
    for (let i = 0; i < burst + 3; i += 1) if ((await state(r, OUTSIDE)).statusCode === 429) limited += 1;
    assert.ok(limited >= 1, 'the ops budget runs out from outside');
    for (let i = 0; i < burst + 3; i += 1) assert.equal((await state(r, '10.1.1.1')).statusCode, 200);
    const metrics = await r.app.relay.metrics.registry.getSingleMetric('tokenplace_relay_requests_total')!.get();
    assert.ok(
      metrics.values.some((v) => v.labels.endpoint === 'ops_state'),
      'counted under its route name',
    );
  });
});

describe('/ops/state content', () => {
  it('nodes by fingerprint, queues, store, build, counters; no key, client key or ciphertext anywhere', async (t) => {
    const r = await relayWith();
    t.after(() => r.app.close());
    const [legacyNode, v1Node, client] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()]);
    const sunk = await r.post('/sink', { server_public_key: legacyNode.publicKeyWire }, { 'x-relay-server-token': NODE_TOKEN });
    assert.equal(sunk.statusCode, 200, sunk.body);
    const reg = await r.post(
      '/api/v1/relay/servers/register',
      { server_public_key: v1Node.publicKeyWire, capabilities: CAPS },
      { 'x-relay-server-token': NODE_TOKEN },
    );
    assert.equal(reg.statusCode, 200, reg.body);
    const credential = reg.json().control_credential as string;
    const ciphertext = Buffer.from('opaque ciphertext bytes for the ops test').toString('base64');
    const faucet = await r.post('/faucet', {
      server_public_key: legacyNode.publicKeyWire,
      client_public_key: client.publicKeyWire,
      chat_history: ciphertext,
      cipherkey: 'a2V5',
      iv: 'aXY=',
    });
    assert.equal(faucet.statusCode, 200, faucet.body);
    r.clock.advance(2500);
    await r.post('/sink', { server_public_key: 42 }, { 'x-relay-server-token': NODE_TOKEN }); // a refusal to count

    const res = await state(r, '127.0.0.1');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const s = res.json();

    // Never a key (node or client), a credential or payload bytes: not whole, not a window of one.
    for (const secret of [legacyNode.publicKeyWire, v1Node.publicKeyWire, client.publicKeyWire]) {
      for (let at = 0; at + 40 <= secret.length; at += 40)
        assert.ok(!res.body.includes(secret.slice(at, at + 40)), 'a 40-character window of a key is in the JSON');
      const pemBody = Buffer.from(secret, 'base64').toString('utf8').split('\n')[1]!;
      assert.ok(!res.body.includes(pemBody.slice(0, 40)), 'decoded key material is in the JSON');
    }
    assert.ok(!res.body.includes(credential), 'the control credential is in the JSON');
    assert.ok(!res.body.includes(ciphertext), 'the ciphertext is in the JSON');

    assert.equal(s.status, 'ok');
    assert.equal(s.draining, false);
    assert.equal(s.nodes.live, 2);
    assert.equal(s.nodes.total, 2);
    assert.equal(s.nodes.truncated, false);
    const byProtocol = Object.fromEntries((s.nodes.list as OpsNode[]).map((n) => [n.protocol, n])) as Record<'legacy' | 'v1', OpsNode>;
    assert.equal(byProtocol.legacy.fingerprint, keyFingerprint(legacyNode.publicKeyWire));
    assert.equal(byProtocol.v1.fingerprint, keyFingerprint(v1Node.publicKeyWire));
    assert.match(byProtocol.v1.fingerprint, /^[0-9a-f]{12}$/);
    assert.equal(byProtocol.legacy.queueDepth, 1);
    assert.equal(byProtocol.legacy.ageSeconds, 2.5);
    assert.deepEqual(byProtocol.v1.models, ['qwen3-8b-instruct']);
    assert.equal(byProtocol.v1.contextTier, '8k-fast');
    assert.equal(byProtocol.v1.maxConcurrency, 1);
    assert.equal(typeof byProtocol.v1.leaseSeconds, 'number');

    assert.equal(s.queues.legacy.queued, 1);
    assert.equal(s.queues.legacy.oldestAgeSeconds, 2.5);
    assert.equal(s.queues.v1.queued, 0);
    assert.deepEqual({ kind: s.store.kind, ok: s.store.ok }, { kind: 'memory', ok: true });
    assert.ok(s.store.storedBytes > 0);

    assert.match(s.build.packageVersion, /^\d+\.\d+\.\d+/);
    assert.equal(s.build.release, 'dev');
    assert.equal(s.build.node, process.version);

    const sink = (s.counters.requests as { endpoint: string; status: string; count: number }[]).filter((x) => x.endpoint.includes('sink'));
    assert.ok(
      sink.some((x) => x.status === '200' && x.count === 1),
      JSON.stringify(sink),
    );
    assert.ok(
      sink.some((x) => x.status === '400'),
      'the refused /sink is counted by status',
    );
    for (const row of s.counters.requests as { method?: string }[]) assert.equal(row.method, undefined, 'methods are summed');
  });

  it("a node's label and served/failed counters show when the store reports them, and only then", async () => {
    const key = (await generateKeyPair()).publicKeyWire;
    const base = { protocol: 'v1' as const, key, ageMs: 1234, queueDepth: 2, inflight: 1, leaseSeconds: 30 };
    const plain = opsNode(base);
    assert.equal(plain.fingerprint, keyFingerprint(key));
    assert.equal('label' in plain || 'served' in plain || 'failed' in plain, false);
    const labelled = opsNode({ ...base, label: 'kitchen-gpu', served: 12, failed: 1, leaseLeftMs: 12_500 } as typeof base);
    assert.deepEqual([labelled.label, labelled.served, labelled.failed, labelled.leaseLeftSeconds], ['kitchen-gpu', 12, 1, 12.5]);
    // API v1 keeps the label in the capabilities it stores.
    const v1Labelled = opsNode({
      ...base,
      capabilities: {
        supportedModelIds: ['m'],
        contextTier: '8k-fast',
        maxContextTokens: 8192,
        defaultOutputReservation: 1024,
        maxOutputTokens: 2048,
        maxConcurrency: 2,
        backendClass: 'gpu',
        label: 'attic',
      },
    } as typeof base);
    assert.equal(v1Labelled.label, 'attic');
    assert.equal(v1Labelled.maxConcurrency, 2);
    const long = opsNode({ ...base, label: 'x'.repeat(500), served: 'many' } as unknown as typeof base);
    assert.equal(long.label!.length, 64);
    assert.equal(long.served, undefined, 'a counter that is not a number is left out');
    assert.ok(!JSON.stringify(labelled).includes(key.slice(0, 40)));
  });

  it('the release comes from the variables the chart sets; draining shows', async (t) => {
    const r = await testRelay({ releaseVersion: 'v1.2.3', gitSha: 'abcdef0123456789', deployEnvironment: 'staging' });
    t.after(() => r.app.close());
    let s = (await state(r, '127.0.0.1')).json();
    assert.equal(s.build.release, 'v1.2.3');
    assert.equal(s.build.environment, 'staging');
    assert.equal(s.build.ref, 'main-abcdef0');
    r.drain.start();
    s = (await state(r, '127.0.0.1')).json();
    assert.equal(s.status, 'draining');
    assert.equal(s.draining, true);
  });

  it('pickup and turnaround percentiles from the histogram buckets match known observations', async (t) => {
    const r = await relayWith();
    t.after(() => r.app.close());
    const { observer } = r.app.relay.metrics;
    // 50 at 2 ms, 40 at 20 ms, 10 at 200 ms. Buckets …0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25…
    for (let i = 0; i < 50; i += 1) observer.pickedUp(2);
    for (let i = 0; i < 40; i += 1) observer.pickedUp(20);
    for (let i = 0; i < 10; i += 1) observer.pickedUp(200);
    // p50: rank 50 fills (0.001, 0.005] exactly → 0.005. p90: rank 90 ends (0.01, 0.025] → 0.025.
    // p99: rank 99 is 9 of the 10 in (0.1, 0.25] → 0.1 + 0.15 × 0.9 = 0.235.
    const pickup = (await state(r, '127.0.0.1')).json().latency.pickup;
    assert.equal(pickup.count, 100);
    assert.equal(pickup.p50, 0.005);
    assert.equal(pickup.p90, 0.025);
    assert.ok(Math.abs(pickup.p99 - 0.235) < 1e-9, String(pickup.p99));
    assert.ok(Math.abs(pickup.mean - (50 * 0.002 + 40 * 0.02 + 10 * 0.2) / 100) < 1e-6);
    // Each estimate lies in the bucket holding the exact quantile (2 ms, 20 ms, 200 ms).
    assert.ok(pickup.p50 >= 0.001 && pickup.p50 <= 0.005);
    assert.ok(pickup.p90 >= 0.01 && pickup.p90 <= 0.025);
    assert.ok(pickup.p99 >= 0.1 && pickup.p99 <= 0.25);

    // A slow tail beyond the last bucket is reported as that bound, which the page shows as "≥".
    for (let i = 0; i < 3; i += 1) observer.turnaround(400_000);
    const turnaround = (await state(r, '127.0.0.1')).json().latency.turnaround;
    assert.equal(turnaround.p50, 300);
    assert.equal(turnaround.maxBoundSeconds, 300);
  });

  it('per-route percentiles from a histogram with labels, and the edge cases', async () => {
    const registry = new Registry();
    const h = new Histogram({ name: 'ops_test_seconds', help: 'test', labelNames: ['endpoint'], buckets: [0.1, 1, 10], registers: [registry] });
    for (const v of [0.05, 0.05, 0.5, 0.5]) h.observe({ endpoint: 'a' }, v);
    for (const v of [5, 5, 5, 5, 5, 5, 5, 5, 5, 50]) h.observe({ endpoint: 'b' }, v);
    const summary = summariseHistogram(await h.get(), 'endpoint');
    // a: 2 in (0, 0.1], 2 in (0.1, 1]. p50 rank 2 → 0.1; p90 rank 3.6 → 0.1 + 0.9 × 0.8 = 0.82.
    assert.equal(summary.get('a')!.p50, 0.1);
    assert.ok(Math.abs(summary.get('a')!.p90! - 0.82) < 1e-9);
    // b: 9 in (1, 10], 1 above. p50 rank 5 → 1 + 9 × 5/9 = 6; p99 rank 9.9 is in +Inf → 10.
    assert.equal(summary.get('b')!.p50, 6);
    assert.equal(summary.get('b')!.p99, 10);
    assert.equal(summary.get('b')!.count, 10);
    assert.equal(bucketQuantile([], 0.5), null);
    assert.equal(
      bucketQuantile(
        [
          { le: 1, count: 0 },
          { le: Infinity, count: 0 },
        ],
        0.5,
      ),
      null,
    );
  });
});

describe('/ops page', () => {
  it('is served to anyone as a data-free shell with the strict CSP; its assets resolve', async (t) => {
    ensureBuilt();
    const r = await relayWith({ metricsToken: OPS_TOKEN });
    t.after(() => r.app.close());
    const page = await r.inject({ method: 'GET', url: '/ops', remoteAddress: OUTSIDE });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const html = page.body;
    assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=|https?:\/\//i, 'no inline style, handlers or absolute URLs');
    for (const [, attrs, body] of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.equal(body!.trim(), '');
      assert.match(attrs!, /src="\/ops\/assets\/ops-[A-Z0-9]{8}\.js"/);
    }
    const refs = [...html.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1]!);
    assert.ok(refs.length >= 3, refs.join(' '));
    for (const ref of refs) {
      assert.match(ref, /^\/ops\/assets\//);
      const asset = await r.inject({ method: 'GET', url: ref, remoteAddress: OUTSIDE });
      assert.equal(asset.statusCode, 200, ref);
      assert.equal(asset.headers['x-content-type-options'], 'nosniff');
    }
    assert.equal((await r.inject({ method: 'GET', url: '/ops/assets/nope.js' })).statusCode, 404);
  });
});
