// Contract tests for the API v1 relay routes (protocol.md §E.3): fields, status codes and error
// codes as the HEAD-era peers use them, driven through the real app with a fake clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyFingerprint } from '../../../src/core/fingerprint.js';
import { faucetBody, NODE_KEY } from '../../support/relay-app.js';
import {
  CAPS,
  CAPS_64K,
  CLIENT_A,
  CLIENT_B,
  NODE_A,
  NODE_B,
  NODE_HEADERS,
  PROTOCOL,
  control,
  poll,
  progressBody,
  registerNode,
  requestBody,
  responseBody,
  retrieve,
  v1Relay,
} from './support.js';

describe('API v1 routes: compute-node lease', () => {
  it('register answers the lease, the poll wait, the progress capability, and the credential only the first time', async () => {
    const relay = await v1Relay({ v1PollWaitSeconds: 7 });
    const first = await relay.post('/api/v1/relay/servers/register', { server_public_key: NODE_A, capabilities: CAPS }, NODE_HEADERS);
    assert.equal(first.statusCode, 200);
    const body = first.json();
    assert.deepEqual(Object.keys(body).sort(), ['control_credential', 'next_ping_in_x_seconds', 'poll_wait_seconds', 'relay_capabilities']);
    assert.equal(body.next_ping_in_x_seconds, 30);
    assert.equal(body.poll_wait_seconds, 7);
    assert.deepEqual(body.relay_capabilities, { encrypted_progress_v1: true });
    assert.match(body.control_credential, /^[A-Za-z0-9_-]{43}$/);
    // Once the node has polled, re-registering never discloses a credential again.
    assert.equal((await poll(relay)).statusCode, 200);
    const again = await relay.post('/api/v1/relay/servers/register', { server_public_key: NODE_A, capabilities: CAPS }, NODE_HEADERS);
    assert.deepEqual(again.json(), { next_ping_in_x_seconds: 30, poll_wait_seconds: 7, relay_capabilities: { encrypted_progress_v1: true } });
    // Only a digest is stored.
    const state = JSON.stringify(await relay.store.snapshot());
    assert.ok(!state.includes(body.control_credential), 'the credential itself is never stored');
    await relay.app.close();
  });

  it('poll without work: "No requests available"; an unknown node gets 404 and registers again', async () => {
    const relay = await v1Relay();
    const unknown = await poll(relay);
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'node_not_found');
    await registerNode(relay);
    const idle = await poll(relay);
    assert.equal(idle.statusCode, 200);
    assert.deepEqual(idle.json(), { message: 'No requests available', next_ping_in_x_seconds: 30, poll_wait_seconds: 0 }, 'no long-poll: paced by the lease');
    await relay.app.close();
  });

  it('a lapsed lease makes the node unselectable, and the sweep evicts it', async () => {
    const relay = await v1Relay();
    await registerNode(relay);
    assert.equal((await relay.inject({ method: 'GET', url: '/api/v1/relay/servers/next' })).statusCode, 200);
    relay.clock.advance(29_000);
    await poll(relay); // renews
    relay.clock.advance(29_000);
    assert.equal((await relay.inject({ method: 'GET', url: '/api/v1/relay/servers/next' })).statusCode, 200);
    relay.clock.advance(2_000);
    const next = await relay.inject({ method: 'GET', url: '/api/v1/relay/servers/next' });
    assert.equal(next.statusCode, 503);
    assert.equal(next.json().error.code, 'no_registered_compute_nodes');
    await relay.app.relay.v1.sweep();
    assert.equal((await poll(relay)).statusCode, 404, 'evicted: the node must register again');
    await relay.app.close();
  });
});

describe('API v1 routes: a request from admission to answer', () => {
  it('next → requests → poll → control → progress → retrieve (202) → responses → retrieve (200)', async () => {
    const relay = await v1Relay();
    const credential = await registerNode(relay);

    const next = await relay.inject({ method: 'GET', url: '/api/v1/relay/servers/next' });
    assert.equal(next.statusCode, 200);
    assert.equal(next.headers['cache-control'], 'no-store');
    assert.deepEqual(next.json(), {
      server_public_key: NODE_A,
      requested_context_tier: '8k-fast',
      requested_model: 'qwen3-8b-instruct',
      resolved_model: 'qwen3-8b-instruct',
      selected_context_tier: '8k-fast',
      selected_context_window_tokens: 8192,
      selected_model_support: ['qwen3-8b-instruct'],
      selection_policy: 'best_fit_smallest_capable_least_loaded_v1',
      eligible_node_count: 1,
      eligible_tier_counts: { '8k-fast': 1 },
      selected_queue_depth: 0,
      selected_in_flight_count: 0,
      selected_load_score: 0,
      spillover: false,
    });

    const admitted = await relay.post('/api/v1/relay/requests', requestBody());
    assert.equal(admitted.statusCode, 200);
    assert.deepEqual(admitted.json(), { message: 'Request received', request_deadline_remaining_seconds: 480, request_ttl_seconds: 480 });

    relay.clock.advance(1000);
    const pending = await retrieve(relay);
    assert.equal(pending.statusCode, 202);
    assert.deepEqual(pending.json(), { status: 'pending', request_deadline_remaining_seconds: 479, request_ttl_seconds: 479 });

    const work = await poll(relay, NODE_A, { capabilities: CAPS });
    assert.equal(work.statusCode, 200);
    assert.deepEqual(
      work.json(),
      {
        protocol: PROTOCOL,
        version: 1,
        request_id: 'req-1',
        client_public_key: CLIENT_A,
        chat_history: 'Y2lwaGVydGV4dA==',
        ciphertext: 'Y2lwaGVydGV4dA==',
        cipherkey: 'd3JhcHBlZA==',
        iv: 'aXZpdml2aXY=',
        request_deadline_remaining_seconds: 479,
        request_ttl_seconds: 479,
        next_ping_in_x_seconds: 0,
        poll_wait_seconds: 0,
      },
      'the work item says "poll again now" and never carries the cancel token',
    );

    relay.clock.advance(5000);
    const active = await control(relay, credential);
    assert.deepEqual(active.json(), { status: 'active', next_poll_seconds: 1, request_deadline_remaining_seconds: 474, request_ttl_seconds: 474 });

    const progress = await relay.post('/api/v1/relay/progress', progressBody(credential), NODE_HEADERS);
    assert.equal(progress.statusCode, 202);
    assert.deepEqual(progress.json(), { message: 'Encrypted progress accepted' });
    const withProgress = await retrieve(relay);
    assert.equal(withProgress.statusCode, 202);
    assert.deepEqual(withProgress.json().encrypted_progress, {
      client_public_key: CLIENT_A,
      request_id: 'req-1',
      protocol: PROTOCOL,
      version: 1,
      ciphertext: 'cHJvZ3Jlc3M=',
      cipherkey: 'cHJvZ3Jlc3Mta2V5',
      iv: 'cHJvZ3Jlc3MtaXY=',
    });
    assert.equal((await retrieve(relay)).json().encrypted_progress, undefined, 'handed out once');

    const answered = await relay.post('/api/v1/relay/responses', responseBody(), NODE_HEADERS);
    assert.equal(answered.statusCode, 200);
    assert.deepEqual(answered.json(), { message: 'Response received and queued for client' });
    const duplicate = await relay.post('/api/v1/relay/responses', responseBody(), NODE_HEADERS);
    assert.deepEqual(duplicate.json(), { message: 'Response already queued for client' });

    const got = await retrieve(relay);
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json(), {
      client_public_key: CLIENT_A,
      request_id: 'req-1',
      protocol: PROTOCOL,
      version: 1,
      chat_history: 'YW5zd2Vy',
      ciphertext: 'YW5zd2Vy',
      cipherkey: 'YW5zd2VyLWtleQ==',
      iv: 'YW5zd2VyLWl2',
    });
    const again = await retrieve(relay);
    assert.deepEqual(again.json(), got.json(), 'repeatable until acknowledged (a lost reply can be fetched again)');
    const acked = await relay.post('/api/v1/relay/responses/retrieve', { client_public_key: CLIENT_A, request_id: 'req-1', ack: true });
    assert.deepEqual(acked.json(), got.json(), 'the ack hands it out once more and ends the request');
    const replayed = await retrieve(relay);
    assert.deepEqual(replayed.json(), got.json(), "the ack's reply may be lost: its retry still gets the answer");
    const late = await relay.post('/api/v1/relay/responses', responseBody({ chat_history: 'bGF0ZQ==' }), NODE_HEADERS);
    assert.equal(late.statusCode, 410);
    assert.deepEqual(late.json().error, { code: 'completed', status: 'completed', message: 'Request is no longer waiting for a response' });
    assert.deepEqual((await control(relay, credential)).json(), { status: 'completed/unavailable', next_poll_seconds: 1 });
    relay.clock.advance(30_000);
    const after = await retrieve(relay);
    assert.equal(after.statusCode, 404, 'TOKENPLACE_API_V1_ACK_REPLAY_SECONDS (30 s) later it is gone');
    assert.equal(after.json().error.code, 'unknown_request');
    await relay.app.close();
  });

  it('responses are bound to request ids: two requests of one client each get their own answer', async () => {
    const relay = await v1Relay();
    await registerNode(relay, NODE_A, { ...CAPS, max_concurrency: 2 });
    await relay.post('/api/v1/relay/requests', requestBody({ request_id: 'one' }));
    await relay.post('/api/v1/relay/requests', requestBody({ request_id: 'two' }));
    await poll(relay);
    await poll(relay);
    await relay.post('/api/v1/relay/responses', responseBody({ request_id: 'two', chat_history: 'dHdv' }), NODE_HEADERS);
    await relay.post('/api/v1/relay/responses', responseBody({ request_id: 'one', chat_history: 'b25l' }), NODE_HEADERS);
    assert.equal((await retrieve(relay, 'one')).json().chat_history, 'b25l');
    assert.equal((await retrieve(relay, 'two')).json().chat_history, 'dHdv');
    await relay.app.close();
  });

  it('a retried admission (same id, same bytes) gets the first admission; other bytes under the id get 409', async () => {
    const relay = await v1Relay();
    await registerNode(relay);
    const first = await relay.post('/api/v1/relay/requests', requestBody());
    assert.equal(first.statusCode, 200);
    relay.clock.advance(2000);
    const retry = await relay.post('/api/v1/relay/requests', requestBody());
    assert.equal(retry.statusCode, 200);
    assert.equal(retry.json().request_deadline_remaining_seconds, 478, 'the first admission and its deadline');
    const dup = await relay.post('/api/v1/relay/requests', requestBody({ ciphertext: 'b3RoZXI=' }));
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'request_id_conflict');
    await relay.app.close();
  });

  it('the absolute deadline is set at admission: control polls do not move it, and it ends the request', async () => {
    const relay = await v1Relay({ v1RequestDeadlineSeconds: 60 });
    const credential = await registerNode(relay);
    await relay.post('/api/v1/relay/requests', requestBody());
    await poll(relay);
    for (let i = 0; i < 5; i += 1) {
      relay.clock.advance(10_000);
      const c = (await control(relay, credential)).json();
      assert.equal(c.status, 'active');
      assert.equal(c.request_deadline_remaining_seconds, 60 - 10 * (i + 1));
      await relay.post('/api/v1/relay/servers/register', { server_public_key: NODE_A, capabilities: CAPS }, NODE_HEADERS);
    }
    relay.clock.advance(10_000);
    assert.equal((await control(relay, credential)).json().status, 'expired');
    const gone = await retrieve(relay);
    assert.equal(gone.statusCode, 410);
    assert.deepEqual(gone.json().error, { code: 'expired', status: 'expired', reason: 'provider_timeout', message: 'Request expired' });
    const late = await relay.post('/api/v1/relay/responses', responseBody(), NODE_HEADERS);
    assert.equal(late.statusCode, 410);
    assert.equal(late.json().error.status, 'expired');
    await relay.app.close();
  });

  it('a request nobody picks up expires on its deadline (sweep) and the waiting client learns why', async () => {
    const relay = await v1Relay({ v1RequestDeadlineSeconds: 20 });
    await registerNode(relay);
    await relay.post('/api/v1/relay/requests', requestBody());
    relay.clock.advance(20_000);
    await relay.app.relay.v1.sweep();
    const gone = await retrieve(relay);
    assert.equal(gone.statusCode, 410);
    assert.equal(gone.json().error.reason, 'provider_timeout');
    await relay.app.close();
  });
});

describe('API v1 routes: cancellation reaches the node', () => {
  it('cancel while in flight: the next control poll says cancelled, the late answer is refused, acknowledging clears it', async () => {
    const relay = await v1Relay();
    const credential = await registerNode(relay);
    await relay.post('/api/v1/relay/requests', requestBody());
    assert.equal((await poll(relay)).json().request_id, 'req-1');
    assert.equal((await control(relay, credential)).json().status, 'active');

    const noProof = await relay.post('/api/v1/relay/requests/cancel', { client_public_key: CLIENT_A, request_id: 'req-1', cancel_token: 'guess' });
    assert.equal(noProof.statusCode, 403);
    assert.equal(noProof.json().error.code, 'invalid_cancel_token');

    const cancelled = await relay.post('/api/v1/relay/requests/cancel', {
      client_public_key: CLIENT_A,
      request_id: 'req-1',
      cancel_token: 'cancel-secret-1',
      status: 'cancelled',
      reason: 'requester_cancelled',
    });
    assert.equal(cancelled.statusCode, 200);
    assert.deepEqual(cancelled.json(), { status: 'cancelled', request_id: 'req-1', removed_from_queue: 0 });

    const told = await control(relay, credential);
    assert.deepEqual(told.json(), { status: 'cancelled', next_poll_seconds: 1, request_deadline_remaining_seconds: 480, request_ttl_seconds: 480 });
    const late = await relay.post('/api/v1/relay/responses', responseBody(), NODE_HEADERS);
    assert.equal(late.statusCode, 410);
    assert.deepEqual(late.json().error, { code: 'cancelled', status: 'cancelled', message: 'Request is no longer waiting for a response' });
    const progress = await relay.post('/api/v1/relay/progress', progressBody(credential), NODE_HEADERS);
    assert.equal(progress.statusCode, 410);
    assert.equal((await control(relay, credential, 'req-1', { acknowledge: true })).json().status, 'cancelled');
    assert.equal((await control(relay, credential)).json().status, 'completed/unavailable');

    const client = await retrieve(relay);
    assert.equal(client.statusCode, 410);
    assert.deepEqual(client.json().error, { code: 'cancelled', status: 'cancelled', reason: 'requester_cancelled', message: 'Request cancelled' });
    const repeat = await relay.post('/api/v1/relay/requests/cancel', { client_public_key: CLIENT_A, request_id: 'req-1', cancel_token: 'cancel-secret-1' });
    assert.deepEqual(repeat.json(), { status: 'cancelled', request_id: 'req-1', removed_from_queue: 0 }, 'idempotent');
    await relay.app.close();
  });

  it('cancel while queued: removed from the queue, the node never sees it; unknown reasons are sanitised', async () => {
    const relay = await v1Relay();
    await registerNode(relay);
    await relay.post('/api/v1/relay/requests', requestBody());
    const cancelled = await relay.post('/api/v1/relay/requests/cancel', {
      client_public_key: CLIENT_A,
      request_id: 'req-1',
      cancel_token: 'cancel-secret-1',
      status: 'bogus',
      reason: '<script>',
    });
    assert.deepEqual(cancelled.json(), { status: 'cancelled', request_id: 'req-1', removed_from_queue: 1 });
    assert.equal((await poll(relay)).json().message, 'No requests available');
    assert.equal((await retrieve(relay)).json().error.reason, 'cancelled');
    await relay.app.close();
  });

  it('unregistering a node cancels its work (server_unregistered) and its old credential still reads the outcome', async () => {
    const relay = await v1Relay();
    const credential = await registerNode(relay);
    await relay.post('/api/v1/relay/requests', requestBody());
    await poll(relay);
    const refused = await relay.post('/api/v1/relay/servers/unregister', { server_public_key: NODE_A, control_credential: 'not-mine' }, NODE_HEADERS);
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().error.code, 'invalid_control_credential');
    const removed = await relay.post('/api/v1/relay/servers/unregister', { server_public_key: NODE_A, control_credential: credential }, NODE_HEADERS);
    assert.deepEqual(removed.json(), { message: 'Server unregistered', removed: true });
    assert.equal((await control(relay, credential)).json().status, 'cancelled');
    assert.equal((await retrieve(relay)).json().error.reason, 'server_unregistered');
    const again = await relay.post('/api/v1/relay/servers/unregister', { server_public_key: NODE_A, control_credential: credential }, NODE_HEADERS);
    assert.deepEqual(again.json(), { message: 'Server unregistered', removed: false });
    await relay.app.close();
  });

  it('every unregister alias needs the owner credential', async () => {
    const relay = await v1Relay();
    for (const url of ['/unregister', '/api/v1/relay/unregister', '/api/v2/relay/unregister', '/v1/relay/unregister', '/v2/relay/unregister']) {
      const credential = await registerNode(relay);
      const denied = await relay.post(url, { server_public_key: NODE_A }, NODE_HEADERS);
      assert.equal(denied.statusCode, 403, url);
      const ok = await relay.post(url, { server_public_key: NODE_A, control_credential: credential }, NODE_HEADERS);
      assert.deepEqual(ok.json(), { message: 'Server unregistered', removed: true }, url);
      assert.equal((await relay.post(url, { server_public_key: NODE_A, control_credential: credential })).statusCode, 401, `${url} needs the token`);
    }
    const legacyShape = await relay.post('/unregister', { server_public_key: 5 }, NODE_HEADERS);
    assert.equal(legacyShape.json().error, 'Invalid public key', 'the legacy alias keeps plain-string errors');
    await relay.app.close();
  });
});

describe('API v1 routes: best-fit selection', () => {
  it('smallest capable tier, least loaded, round-robin; aliases resolve; bad tiers and no match are explained', async () => {
    const relay = await v1Relay();
    await registerNode(relay, NODE_A, CAPS);
    await registerNode(relay, NODE_B, CAPS_64K);
    const next = async (query = '') => relay.inject({ method: 'GET', url: `/api/v1/relay/servers/next${query}` });

    const small = (await next('?model=llama-3-8b-instruct')).json();
    assert.equal(small.server_public_key, NODE_A, 'an 8k request goes to the 8k node, not the 64k one');
    assert.equal(small.requested_model, 'llama-3-8b-instruct');
    assert.equal(small.resolved_model, 'qwen3-8b-instruct');
    assert.deepEqual(small.eligible_tier_counts, { '8k-fast': 1, '64k-full': 1 });

    const big = (await next('?context_tier=64k-full')).json();
    assert.equal(big.server_public_key, NODE_B);
    assert.equal(big.selected_context_window_tokens, 65536);

    // Load: a queued request on A makes the 64k node the better fit? No: tier first, then load.
    await relay.post('/api/v1/relay/requests', requestBody());
    const stillA = (await next()).json();
    assert.equal(stillA.server_public_key, NODE_A);
    assert.equal(stillA.selected_queue_depth, 1);
    assert.equal(stillA.selected_load_score, 1);

    const bad = await next('?context_tier=128k');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'invalid_context_tier');
    const none = await next('?model=unknown-model');
    assert.equal(none.statusCode, 503);
    assert.equal(none.headers['retry-after'], '5');
    assert.deepEqual(none.json().error, {
      code: 'no_matching_compute_node',
      message: 'No registered compute node matches the requested model and context tier',
      selection_policy: 'best_fit_smallest_capable_least_loaded_v1',
      requested_context_tier: '8k-fast',
      requested_model: 'unknown-model',
      eligible_node_count: 0,
      eligible_tier_counts: {},
    });
    await relay.app.close();
  });

  it('round-robin among equally loaded nodes of the same tier; a full queue is no capacity', async () => {
    const relay = await v1Relay({ v1MaxQueuePerNode: 1 });
    await registerNode(relay, NODE_A);
    await registerNode(relay, NODE_B);
    const picks: string[] = [];
    for (let i = 0; i < 4; i += 1) picks.push((await relay.inject({ method: 'GET', url: '/api/v1/relay/servers/next' })).json().server_public_key);
    assert.deepEqual(picks, [NODE_A, NODE_B, NODE_A, NODE_B]);
    await relay.post('/api/v1/relay/requests', requestBody({ server_public_key: NODE_A, request_id: 'a' }));
    await relay.post('/api/v1/relay/requests', requestBody({ server_public_key: NODE_B, request_id: 'b', client_public_key: CLIENT_B }));
    const full = await relay.inject({ method: 'GET', url: '/api/v1/relay/servers/next' });
    assert.equal(full.statusCode, 503);
    assert.equal(full.json().error.code, 'no_available_capacity');
    assert.equal(full.json().error.capacity_limited_node_count, 2);
    const queueFull = await relay.post('/api/v1/relay/requests', requestBody({ request_id: 'c', client_public_key: CLIENT_B }));
    assert.equal(queueFull.statusCode, 503, 'the per-node queue cap holds at admission');
    assert.equal(queueFull.json().error.code, 'node_queue_full');
    await relay.app.close();
  });
});

describe('API v1 routes: beside the legacy protocol', () => {
  it("a legacy node and a v1 node on one relay each get only their own protocol's work", async () => {
    const relay = await v1Relay();
    await registerNode(relay, NODE_A);
    await relay.post('/sink', { server_public_key: NODE_KEY }, NODE_HEADERS);
    assert.equal((await relay.inject({ method: 'GET', url: '/next_server' })).json().server_public_key, NODE_KEY);
    assert.equal((await relay.inject({ method: 'GET', url: '/api/v1/relay/servers/next' })).json().server_public_key, NODE_A);
    assert.equal((await relay.post('/api/v1/relay/requests', requestBody({ server_public_key: NODE_KEY }))).statusCode, 404, 'a legacy node is not a v1 node');
    await relay.post('/faucet', faucetBody());
    await relay.post('/api/v1/relay/requests', requestBody());
    assert.equal((await poll(relay)).json().request_id, 'req-1');
    assert.equal((await relay.post('/sink', { server_public_key: NODE_KEY }, NODE_HEADERS)).json().chat_history, 'Y2lwaGVy');
    const health = (await relay.inject({ method: 'GET', url: '/healthz' })).json();
    assert.equal(health.knownServers, 2);
    await relay.app.close();
  });

  it('with legacy routes off, legacy paths answer 410 and v1 keeps working', async () => {
    const relay = await v1Relay({}, { TOKENPLACE_ENABLE_LEGACY_RELAY_ROUTES: '0' });
    const sink = await relay.post('/sink', { server_public_key: NODE_KEY }, NODE_HEADERS);
    assert.equal(sink.statusCode, 410);
    assert.equal(sink.json().error.code, 'legacy_relay_endpoint_deprecated');
    await registerNode(relay);
    assert.equal((await relay.post('/api/v1/relay/requests', requestBody())).statusCode, 200);
    assert.equal((await poll(relay)).json().request_id, 'req-1');
    await relay.app.close();
  });
});

describe('API v1 routes: token, diagnostics, metadata, CORS, metrics', () => {
  it('every compute-node route needs the token; client routes do not', async () => {
    const relay = await v1Relay();
    for (const url of [
      '/api/v1/relay/servers/register',
      '/api/v1/relay/servers/poll',
      '/api/v1/relay/servers/control',
      '/api/v1/relay/responses',
      '/api/v1/relay/progress',
      '/api/v1/relay/servers/unregister',
      '/unregister',
    ]) {
      for (const headers of [{}, { 'x-relay-server-token': 'wrong' }] as Record<string, string>[]) {
        const res = await relay.post(url, { server_public_key: NODE_A }, headers);
        assert.equal(res.statusCode, 401, url);
        assert.equal(res.json().code, 'invalid_server_token', url);
      }
    }
    assert.equal((await relay.post('/api/v1/relay/requests', requestBody())).statusCode, 404, 'no token needed; unknown node');
    assert.equal((await retrieve(relay)).statusCode, 404);
    await relay.app.close();
  });

  it('/relay/diagnostics lists live nodes with public keys and counters only, never cached', async () => {
    const relay = await v1Relay();
    const credential = await registerNode(relay);
    await relay.post('/sink', { server_public_key: NODE_KEY }, NODE_HEADERS);
    await relay.post('/api/v1/relay/requests', requestBody());
    const res = await relay.inject({ method: 'GET', url: '/relay/diagnostics' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.equal(body.total_api_v1_registered_compute_nodes, 1);
    assert.equal(body.total_registered_compute_nodes, 2);
    assert.equal(body.queue_depth, 1);
    assert.equal(body.status, 'ok');
    assert.deepEqual(body.api_v1_registered_compute_nodes[0], {
      server_public_key: NODE_A,
      fingerprint: keyFingerprint(NODE_A),
      label: null,
      protocol: 'v1',
      age_seconds: 0,
      next_ping_in_x_seconds: 30,
      queue_depth: 1,
      in_flight_count: 0,
      max_concurrency: 1,
      load_score: 1,
      capabilities: CAPS,
    });
    assert.deepEqual(body.registered_compute_nodes.map((n: { protocol: string }) => n.protocol).sort(), ['legacy', 'v1']);
    for (const secret of [credential, 'cancel-secret-1', 'Y2lwaGVydGV4dA==', 'd3JhcHBlZA==', CLIENT_A])
      assert.ok(!res.body.includes(secret), 'no secrets, payloads or client keys');
    relay.drain.start();
    assert.equal((await relay.inject({ method: 'GET', url: '/relay/diagnostics' })).json().status, 'draining');
    await relay.app.close();
  });

  it('/api/v1/meta and /api/v1/version: release metadata, never cached', async () => {
    const relay = await v1Relay({ releaseVersion: '1.2.3', gitSha: 'abcdef0123456789' });
    for (const url of ['/api/v1/meta', '/api/v1/version']) {
      const res = await relay.inject({ method: 'GET', url, headers: { host: 'staging.token.place' } });
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.deepEqual(res.json(), { environment: 'staging', version: '1.2.3', label: 'staging 1.2.3', ref: 'main-abcdef0' });
    }
    const dev = await v1Relay();
    assert.deepEqual((await dev.inject({ method: 'GET', url: '/api/v1/meta' })).json(), { environment: 'dev', version: 'dev', label: 'dev dev' });
    await dev.app.close();
    await relay.app.close();
  });

  it('public client routes allow any origin (no credentials); preflights answer 204; node routes do not', async () => {
    const relay = await v1Relay();
    const pre = await relay.inject({
      method: 'OPTIONS',
      url: '/api/v1/relay/requests',
      headers: { origin: 'https://example.org', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
    const err = await relay.post('/api/v1/relay/requests', { nope: 1 });
    assert.equal(err.headers['access-control-allow-origin'], '*', 'errors too, so the page can read them');
    const node = await relay.post('/api/v1/relay/servers/register', {}, NODE_HEADERS);
    assert.equal(node.headers['access-control-allow-origin'], undefined);
    await relay.app.close();
  });

  it('relay-dispatched plaintext API v1 routes fail closed', async () => {
    const relay = await v1Relay();
    for (const url of ['/relay/api/v1/chat/completions', '/relay/api/v1/source']) {
      const res = await relay.post(url, { messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().error.code, 'distributed_api_v1_relay_disabled');
    }
    await relay.app.close();
  });

  it('metrics: registered and healthy nodes, queue depth, outcomes by reason, control polls (bounded labels)', async () => {
    const relay = await v1Relay();
    const credential = await registerNode(relay);
    await relay.post('/api/v1/relay/requests', requestBody());
    await relay.post('/api/v1/relay/requests', requestBody({ request_id: 'req-2' }));
    await poll(relay);
    await control(relay, credential);
    await control(relay, 'wrong');
    await relay.post('/api/v1/relay/responses', responseBody(), NODE_HEADERS);
    await relay.post('/api/v1/relay/requests/cancel', {
      client_public_key: CLIENT_A,
      request_id: 'req-2',
      cancel_token: 'cancel-secret-1',
      reason: 'client_timeout',
    });
    const text = (await relay.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (line: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(line))
          ?.slice(line.length)
          .trim(),
      );
    assert.equal(value('tokenplace_compute_nodes_registered '), 1);
    assert.equal(value('tokenplace_compute_nodes_healthy '), 1);
    assert.equal(value('tokenplace_relay_queue_depth{protocol="v1"} '), 0);
    assert.equal(value('tokenplace_relay_request_outcomes_total{outcome="completed",reason="completed"} '), 1);
    assert.equal(value('tokenplace_relay_request_outcomes_total{outcome="cancelled",reason="client_timeout"} '), 1);
    assert.equal(value('tokenplace_relay_compute_control_requests_total{state="active"} '), 1);
    assert.equal(value('tokenplace_relay_compute_control_requests_total{state="forbidden"} '), 1);
    assert.equal(value('tokenplace_relay_compute_control_lease_renewals_total '), 1);
    for (const secret of [NODE_A, CLIENT_A, 'req-1', credential]) assert.ok(!text.includes(secret), 'no keys or ids as labels');
    await relay.app.close();
  });
});

describe('API v1 routes: ownership, claimed-only answers, drain', () => {
  it('a node that polls with its credential is bound: an impostor with only its key and the token gets 403 on poll, re-register and answer', async () => {
    const relay = await v1Relay();
    const credential = await registerNode(relay);
    assert.equal((await poll(relay, NODE_A, { control_credential: credential })).statusCode, 200);
    await relay.post('/api/v1/relay/requests', requestBody());
    const before = await relay.store.snapshot();
    const stolen = await poll(relay);
    assert.equal(stolen.statusCode, 403);
    assert.equal(stolen.json().code, 'node_credential_required');
    const guessed = await poll(relay, NODE_A, { control_credential: 'guess' });
    assert.equal(guessed.json().code, 'invalid_control_credential');
    const rereg = await relay.post(
      '/api/v1/relay/servers/register',
      { server_public_key: NODE_A, capabilities: { ...CAPS, supported_model_ids: ['evil'] } },
      NODE_HEADERS,
    );
    assert.equal(rereg.statusCode, 403);
    assert.equal(rereg.json().code, 'node_credential_required');
    assert.deepEqual(await relay.store.snapshot(), before, 'the refusals changed nothing');
    const work = await poll(relay, NODE_A, { control_credential: credential });
    assert.equal(work.json().request_id, 'req-1', 'the owner still gets its work');
    const forged = await relay.post('/api/v1/relay/responses', responseBody(), NODE_HEADERS);
    assert.equal(forged.statusCode, 403);
    assert.equal(forged.json().code, 'node_credential_required');
    const real = await relay.post('/api/v1/relay/responses', responseBody({ server_public_key: NODE_A, control_credential: credential }), NODE_HEADERS);
    assert.equal(real.statusCode, 200);
    await relay.app.close();
  });

  it('an answer for a request nobody claimed is refused with 409 request_not_claimed; an unbound node answers as upstream', async () => {
    const relay = await v1Relay();
    await registerNode(relay);
    await relay.post('/api/v1/relay/requests', requestBody());
    const early = await relay.post('/api/v1/relay/responses', responseBody(), NODE_HEADERS);
    assert.equal(early.statusCode, 409);
    assert.equal(early.json().code, 'request_not_claimed');
    assert.equal((await retrieve(relay)).statusCode, 202, 'nothing was delivered');
    await poll(relay);
    // The upstream HEAD node sends neither its key nor its credential with an answer.
    assert.equal((await relay.post('/api/v1/relay/responses', responseBody(), NODE_HEADERS)).statusCode, 200);
    assert.equal((await retrieve(relay)).statusCode, 200);
    await relay.app.close();
  });

  it('a draining memory-store relay refuses new submissions with 503 relay_draining and Retry-After, and still serves what it holds', async () => {
    const relay = await v1Relay();
    const credential = await registerNode(relay);
    await relay.post('/api/v1/relay/requests', requestBody());
    relay.drain.start();
    const refused = await relay.post('/api/v1/relay/requests', requestBody({ request_id: 'req-2' }));
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.json().code, 'relay_draining');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    const work = await poll(relay, NODE_A, { control_credential: credential });
    assert.equal(work.json().request_id, 'req-1');
    assert.equal((await relay.post('/api/v1/relay/responses', responseBody({ control_credential: credential }), NODE_HEADERS)).statusCode, 200);
    assert.equal((await retrieve(relay)).statusCode, 200);
    await relay.app.close();
  });
});
