// /relay/diagnostics: upstream's fields stay (chat.js, promotion_smoke.py, the desktop checks read
// them); the operator view lists each node once, by fingerprint, behind the ops token or a
// cluster-internal address.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyFingerprint } from '../../src/core/fingerprint.js';
import { CAPS, NODE_A, NODE_HEADERS, CLIENT_A, registerNode, requestBody, v1Relay } from '../protocols/v1/support.js';
import { NODE_KEY } from '../support/relay-app.js';

const OUTSIDE = '203.0.113.50';
/** The per-node fields upstream's relay.py lists (and its clients may read). */
const UPSTREAM_NODE_FIELDS = [
  'server_public_key',
  'age_seconds',
  'next_ping_in_x_seconds',
  'queue_depth',
  'in_flight_count',
  'max_concurrency',
  'load_score',
  'capabilities',
];

describe('/relay/diagnostics', () => {
  it('the public view keeps what upstream clients read, with fingerprint and label per node', async () => {
    const relay = await v1Relay();
    await relay.post('/api/v1/relay/servers/register', { server_public_key: NODE_A, capabilities: CAPS, node_label: 'rack 3' }, NODE_HEADERS);
    await relay.post('/sink', { server_public_key: NODE_KEY }, NODE_HEADERS);
    const res = await relay.inject({ method: 'GET', url: '/relay/diagnostics', remoteAddress: OUTSIDE });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    // scripts/promotion_smoke.py: both totals non-negative integers equal to their lists' lengths.
    assert.equal(body.total_registered_compute_nodes, body.registered_compute_nodes.length);
    assert.equal(body.total_api_v1_registered_compute_nodes, body.api_v1_registered_compute_nodes.length);
    assert.equal(body.total_api_v1_registered_compute_nodes, 1, 'static/chat.js reads this count');
    assert.equal(body.total_registered_compute_nodes, 2);
    for (const node of body.registered_compute_nodes) {
      for (const field of UPSTREAM_NODE_FIELDS) assert.ok(field in node, `registered_compute_nodes[].${field}`);
      assert.equal(node.fingerprint, keyFingerprint(node.server_public_key));
    }
    const v1 = body.api_v1_registered_compute_nodes[0];
    assert.equal(v1.server_public_key, NODE_A, 'the desktop checks find nodes by key');
    assert.equal(v1.label, 'rack 3');
    assert.deepEqual(v1.capabilities.supported_model_ids, ['qwen3-8b-instruct']);
    assert.equal(body.nodes, undefined, 'the operator list is not public');
    await relay.app.close();
  });

  it('the operator view lists each node once by fingerprint, with served, failed, age, last seen and lease left; never a key', async () => {
    const relay = await v1Relay({ metricsToken: 'ops-secret-token' });
    const credential = await registerNode(relay, NODE_A);
    await relay.post('/sink', { server_public_key: NODE_KEY }, NODE_HEADERS);
    await relay.post('/api/v1/relay/requests', requestBody());
    relay.clock.advance(2000);
    const work = await relay.post('/api/v1/relay/servers/poll', { server_public_key: NODE_A, control_credential: credential }, NODE_HEADERS);
    assert.equal(work.json().request_id, 'req-1');
    relay.clock.advance(1000);
    const answer = await relay.post(
      '/api/v1/relay/responses',
      {
        client_public_key: CLIENT_A,
        request_id: 'req-1',
        server_public_key: NODE_A,
        control_credential: credential,
        ciphertext: 'YQ==',
        cipherkey: 'Yg==',
        iv: 'Yw==',
      },
      NODE_HEADERS,
    );
    assert.equal(answer.statusCode, 200, answer.body);
    relay.clock.advance(4000);

    const res = await relay.inject({
      method: 'GET',
      url: '/relay/diagnostics?view=operator',
      remoteAddress: OUTSIDE,
      headers: { authorization: 'Bearer ops-secret-token' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.view, 'operator');
    assert.equal(body.registered_compute_nodes, undefined);
    assert.equal(body.api_v1_registered_compute_nodes, undefined);
    assert.equal(body.nodes.length, 2, 'each node once');
    assert.equal(body.total_registered_compute_nodes, 2);
    const v1 = body.nodes.find((n: { protocol: string }) => n.protocol === 'v1');
    assert.deepEqual(
      { ...v1, capabilities: undefined },
      {
        fingerprint: keyFingerprint(NODE_A),
        label: null,
        protocol: 'v1',
        age_seconds: 7,
        last_seen_seconds: 4,
        lease_left_seconds: 26,
        queue_depth: 0,
        in_flight_count: 0,
        served: 1,
        failed: 0,
        max_concurrency: 1,
        load_score: 0,
        capabilities: undefined,
      },
    );
    const legacy = body.nodes.find((n: { protocol: string }) => n.protocol === 'legacy');
    assert.equal(legacy.fingerprint, keyFingerprint(NODE_KEY));
    assert.equal(legacy.served, null, 'legacy answers are not linked to a node');
    assert.equal(legacy.lease_left_seconds, 23);
    for (const key of [NODE_A, NODE_KEY, CLIENT_A, credential]) assert.ok(!res.body.includes(key));
    await relay.app.close();
  });

  it('the operator view needs the ops token or a cluster-internal caller; a wrong token is a 401', async () => {
    const relay = await v1Relay({ metricsToken: 'ops-secret-token' });
    const get = (remoteAddress: string, headers: Record<string, string> = {}) =>
      relay.inject({ method: 'GET', url: '/relay/diagnostics?view=operator', remoteAddress, headers });
    const outside = await get(OUTSIDE);
    assert.equal(outside.statusCode, 401);
    assert.equal(outside.json().code, 'metrics_unauthorized');
    assert.equal(outside.headers['www-authenticate'], 'Bearer');
    assert.equal((await get(OUTSIDE, { authorization: 'Bearer wrong' })).statusCode, 401);
    assert.equal((await get('10.42.0.7', { authorization: 'Bearer wrong' })).statusCode, 401, 'a wrong token is refused even in-cluster');
    assert.equal((await get('10.42.0.7')).statusCode, 200, 'cluster-internal without a token');
    assert.equal((await get(OUTSIDE, { authorization: 'Bearer ops-secret-token' })).statusCode, 200);
    // The public view never asks for anything.
    assert.equal(
      (await relay.inject({ method: 'GET', url: '/relay/diagnostics', remoteAddress: OUTSIDE, headers: { authorization: 'Bearer wrong' } })).statusCode,
      200,
    );
    await relay.app.close();
    const open = await v1Relay();
    assert.equal(
      (await open.inject({ method: 'GET', url: '/relay/diagnostics?view=operator', remoteAddress: OUTSIDE })).statusCode,
      401,
      'no token configured: cluster-internal callers only',
    );
    assert.equal((await open.inject({ method: 'GET', url: '/relay/diagnostics?view=operator', remoteAddress: '127.0.0.1' })).statusCode, 200);
    await open.app.close();
  });
});
