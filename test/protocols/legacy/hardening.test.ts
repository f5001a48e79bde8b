// The legacy routes' door limits and answer rules: stream chunks bounded in size and depth
// (JSON 4xx with a code, nothing stored), answers only for claimed requests, and a deep chunk
// can never make /stream/retrieve fail later.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NODE_KEY, faucetBody, testRelay, type TestRelay } from '../../support/relay-app.js';

function nested(depth: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

describe('legacy door limits and answer rules', () => {
  let relay: TestRelay;
  let sessionId: string;
  before(async () => {
    relay = await testRelay({ maxChunkBytes: 1024, maxChunkDepth: 8 });
    await relay.post('/sink', { server_public_key: NODE_KEY });
    await relay.post('/faucet', faucetBody({ client_public_key: 'streamer', stream: true }));
    const claimed = (await relay.post('/sink', { server_public_key: NODE_KEY })).json();
    sessionId = claimed.stream_session_id;
    assert.ok(sessionId, 'a stream session was opened');
  });
  after(async () => relay.app.close());

  it('a chunk nested past the depth limit is refused with a code and stores nothing', async () => {
    const before = await relay.store.snapshot();
    for (const depth of [9, 5000, 100_000]) {
      // As text: JSON.stringify itself overflows the stack on such values (what made a stored
      // deep chunk fail at /stream/retrieve before the door checked depth).
      const payload = `{"session_id":"${sessionId}","chunk":${'['.repeat(depth)}"x"${']'.repeat(depth)}}`;
      const res = await relay.inject({ method: 'POST', url: '/stream/source', headers: { 'content-type': 'application/json' }, payload });
      assert.equal(res.statusCode, 400, res.body.slice(0, 200));
      assert.equal(res.json().code, 'chunk_too_deep');
      assert.equal(typeof res.json().error, 'string', 'the legacy string error shape');
    }
    assert.deepEqual(await relay.store.snapshot(), before);
  });

  it('a chunk over the size limit is refused with 413 and a code', async () => {
    const before = await relay.store.snapshot();
    const res = await relay.post('/stream/source', { session_id: sessionId, chunk: 'x'.repeat(2000) });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'chunk_too_large');
    assert.deepEqual(await relay.store.snapshot(), before);
  });

  it('chunks at the limits are stored and drained verbatim, final included', async () => {
    const deep = nested(7);
    assert.equal((await relay.post('/stream/source', { session_id: sessionId, chunk: deep })).statusCode, 200);
    assert.equal((await relay.post('/stream/source', { session_id: sessionId, chunk: { ciphertext: 'é', n: 1.5 }, final: true })).statusCode, 200);
    const res = await relay.post('/stream/retrieve', { client_public_key: 'streamer' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.json(), { stream: true, session_id: sessionId, chunks: [deep, { ciphertext: 'é', n: 1.5 }], final: true });
    assert.equal((await relay.post('/stream/retrieve', { client_public_key: 'streamer' })).json().error, 'No active stream for the given public key');
  });

  it('an unsolicited /source is refused 409 answer_not_requested and stores nothing', async () => {
    const before = await relay.store.snapshot();
    const res = await relay.post('/source', { client_public_key: 'nobody-asked', chat_history: 'h', cipherkey: 'k', iv: 'i' });
    assert.equal(res.statusCode, 409);
    assert.deepEqual(res.json(), { error: 'No claimed request is waiting for an answer for this client key', code: 'answer_not_requested' });
    assert.deepEqual(await relay.store.snapshot(), before);
  });

  it('a claimed request is answered once; a second answer is refused', async () => {
    await relay.post('/faucet', faucetBody({ client_public_key: 'asker' }));
    assert.equal((await relay.post('/sink', { server_public_key: NODE_KEY })).json().client_public_key, 'asker');
    const first = await relay.post('/source', { client_public_key: 'asker', chat_history: 'a', cipherkey: 'k', iv: 'i' });
    assert.deepEqual(first.json(), { message: 'Response received and queued for client' });
    assert.equal((await relay.post('/source', { client_public_key: 'asker', chat_history: 'b', cipherkey: 'k', iv: 'i' })).statusCode, 409);
    assert.equal((await relay.post('/retrieve', { client_public_key: 'asker' })).json().chat_history, 'a');
  });

  it('a source over its node share gets 429 with Retry-After; the refusal names the share', async () => {
    const r = await testRelay({ maxNodesPerSource: 2 });
    assert.equal((await r.post('/sink', { server_public_key: 'junk-1' })).statusCode, 200);
    assert.equal((await r.post('/sink', { server_public_key: 'junk-2' })).statusCode, 200);
    const res = await r.post('/sink', { server_public_key: 'junk-3' });
    assert.equal(res.statusCode, 429);
    assert.equal(res.json().code, 'source_node_share_exceeded');
    assert.ok(Number(res.headers['retry-after']) > 0);
    await r.app.close();
  });

  it('while draining, a memory-store relay refuses /faucet with 503 relay_draining and Retry-After', async () => {
    const r = await testRelay();
    await r.post('/sink', { server_public_key: NODE_KEY });
    r.app.relay.drain.start();
    const before = await r.store.snapshot();
    const res = await r.post('/faucet', faucetBody());
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'relay_draining');
    assert.ok(Number(res.headers['retry-after']) > 0);
    assert.deepEqual(await r.store.snapshot(), before);
    await r.app.close();
  });
});
