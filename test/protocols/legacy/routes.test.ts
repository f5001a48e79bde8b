// Contract tests for the legacy routes, encoding protocol.md §A.3–A.4 (shapes, codes, quirks).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLIENT_KEY, NODE_KEY, faucetBody, testRelay, type TestRelay } from '../../support/relay-app.js';

describe('legacy routes', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await testRelay();
  });
  after(async () => relay.app.close());

  it('GET /next_server with no node: HTTP 200 with an error object (quirk)', async () => {
    const fresh = await testRelay();
    const res = await fresh.inject({ method: 'GET', url: '/next_server' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { error: { code: 503, message: 'No servers available' } });
    await fresh.app.close();
  });

  it('/sink registers, answers next_ping_in_x_seconds, and /next_server offers the node', async () => {
    const res = await relay.post('/sink', { server_public_key: NODE_KEY });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { next_ping_in_x_seconds: 10 }, 'holds off → the configured ping interval');
    const next = await relay.inject({ method: 'GET', url: '/next_server' });
    assert.deepEqual(next.json(), { server_public_key: NODE_KEY });
  });

  it('full cycle: faucet → sink → source → retrieve, fields passed through exactly', async () => {
    await relay.post('/sink', { server_public_key: NODE_KEY });
    const queued = await relay.post('/faucet', faucetBody());
    assert.equal(queued.statusCode, 200);
    assert.deepEqual(queued.json(), { message: 'Request received' });

    const work = await relay.post('/sink', { server_public_key: NODE_KEY });
    assert.deepEqual(work.json(), { next_ping_in_x_seconds: 10, client_public_key: CLIENT_KEY, chat_history: 'Y2lwaGVy', cipherkey: 'a2V5', iv: 'aXY=' });

    const empty = await relay.post('/retrieve', { client_public_key: CLIENT_KEY });
    assert.equal(empty.statusCode, 200);
    assert.deepEqual(empty.json(), { error: 'No response available for the given public key' });

    const stored = await relay.post('/source', { client_public_key: CLIENT_KEY, chat_history: 'cmVwbHk=', cipherkey: 'azI=', iv: 'aXYy' });
    assert.deepEqual(stored.json(), { message: 'Response received and queued for client' });

    const got = await relay.post('/retrieve', { client_public_key: CLIENT_KEY });
    assert.deepEqual(got.json(), { chat_history: 'cmVwbHk=', cipherkey: 'azI=', iv: 'aXYy' });
    const again = await relay.post('/retrieve', { client_public_key: CLIENT_KEY });
    assert.deepEqual(again.json(), { error: 'No response available for the given public key' }, 'destructive read');
  });

  it('/faucet to an unknown node: 404 with a plain string error (quirk)', async () => {
    const res = await relay.post('/faucet', faucetBody({ server_public_key: 'bm9wZQ==' }));
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error, 'Server with the specified public key not found');
    assert.equal(res.json().code, 'node_not_found');
  });

  it('/faucet missing a field: 400 with the object-shaped error', async () => {
    const res = await relay.post('/faucet', faucetBody({ iv: undefined }));
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().error, { code: 400, message: 'Invalid request data' });
  });

  it('/faucet stream without client key: the streaming message', async () => {
    const res = await relay.post('/faucet', faucetBody({ client_public_key: undefined, stream: true }));
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().error, { code: 400, message: 'Streaming requests require a client public key' });
  });

  it('/sink max_batch_size: batch key whenever more than one is asked for, Python int() coercion', async () => {
    const r = await testRelay();
    await r.post('/sink', { server_public_key: NODE_KEY });
    for (const tag of ['a', 'b', 'c']) await r.post('/faucet', faucetBody({ client_public_key: `client-${tag}`, chat_history: tag }));
    const res = await r.post('/sink', { server_public_key: NODE_KEY, max_batch_size: '2' });
    const body = res.json();
    assert.equal(body.chat_history, 'a');
    assert.deepEqual(
      body.batch.map((item: { chat_history: string }) => item.chat_history),
      ['a', 'b'],
    );
    assert.deepEqual(Object.keys(body.batch[0]).sort(), ['chat_history', 'cipherkey', 'client_public_key', 'iv', 'stream']);
    const one = await r.post('/sink', { server_public_key: NODE_KEY, max_batch_size: 2.7 });
    assert.deepEqual(
      one.json().batch.map((item: { chat_history: string }) => item.chat_history),
      ['c'],
      'batch present even with one item',
    );
    const none = await r.post('/sink', { server_public_key: NODE_KEY, max_batch_size: true });
    assert.equal(none.json().batch, undefined, 'true → 1 → no batch key');
    await r.app.close();
  });

  it('streaming: /sink hands a session, /stream/source appends, /stream/retrieve drains with final', async () => {
    const r = await testRelay();
    await r.post('/sink', { server_public_key: NODE_KEY });
    await r.post('/faucet', faucetBody({ stream: 1 }));
    const work = (await r.post('/sink', { server_public_key: NODE_KEY })).json();
    assert.equal(work.stream, true);
    assert.match(work.stream_session_id, /^[0-9a-f]{32}$/);
    const sid = work.stream_session_id;
    assert.deepEqual((await r.post('/stream/retrieve', { client_public_key: CLIENT_KEY })).json(), { stream: true, session_id: sid, chunks: [] });
    assert.deepEqual((await r.post('/stream/source', { session_id: sid, chunk: { ciphertext: 'x', iv: 'y' } })).json(), {
      message: 'Chunk stored',
      final: false,
    });
    assert.deepEqual((await r.post('/stream/source', { session_id: sid, chunk: 'z', final: true })).json(), { message: 'Chunk stored', final: true });
    assert.deepEqual((await r.post('/stream/retrieve', { client_public_key: CLIENT_KEY })).json(), {
      stream: true,
      session_id: sid,
      chunks: [{ ciphertext: 'x', iv: 'y' }, 'z'],
      final: true,
    });
    assert.deepEqual((await r.post('/stream/retrieve', { client_public_key: CLIENT_KEY })).json(), { error: 'No active stream for the given public key' });
    const gone = await r.post('/stream/source', { session_id: sid, chunk: 'late' });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().error, 'Unknown stream session');
    await r.app.close();
  });

  it('every response carries X-Request-Id: echoed when sane, generated (16 hex) otherwise', async () => {
    const echoed = await relay.inject({ method: 'GET', url: '/livez', headers: { 'x-request-id': 'abc-123' } });
    assert.equal(echoed.headers['x-request-id'], 'abc-123');
    const generated = await relay.inject({ method: 'GET', url: '/nope' });
    assert.match(String(generated.headers['x-request-id']), /^[0-9a-f]{16}$/);
    const tooLong = await relay.inject({ method: 'GET', url: '/livez', headers: { 'x-request-id': 'x'.repeat(300) } });
    assert.match(String(tooLong.headers['x-request-id']), /^[0-9a-f]{16}$/);
  });

  it('nodes expire: a silent node is no longer offered and refuses new work', async () => {
    const r = await testRelay();
    await r.post('/sink', { server_public_key: NODE_KEY });
    r.clock.advance(r.config.pingIntervalSeconds * r.config.nodeExpiryPings * 1000 + 1);
    assert.deepEqual((await r.inject({ method: 'GET', url: '/next_server' })).json(), { error: { code: 503, message: 'No servers available' } });
    assert.equal((await r.post('/faucet', faucetBody())).statusCode, 404);
    await r.app.close();
  });

  it('a full node queue answers 503 with Retry-After', async () => {
    const r = await testRelay({ maxQueuePerNode: 1 });
    await r.post('/sink', { server_public_key: NODE_KEY });
    assert.equal((await r.post('/faucet', faucetBody())).statusCode, 200);
    const full = await r.post('/faucet', faucetBody({ client_public_key: 'other' }));
    assert.equal(full.statusCode, 503);
    assert.equal(full.headers['retry-after'], '5');
    assert.equal(full.json().code, 'node_queue_full');
    await r.app.close();
  });

  it('legacy routes can be switched off: 410 as upstream', async () => {
    const r = await testRelay({ legacyRoutes: false });
    const res = await r.post('/sink', { server_public_key: NODE_KEY });
    assert.equal(res.statusCode, 410);
    assert.equal(res.json().error.code, 'legacy_relay_endpoint_deprecated');
    assert.equal(res.json().error.deprecated, true);
    await r.app.close();
  });
});
