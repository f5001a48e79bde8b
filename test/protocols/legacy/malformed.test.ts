// A table of malformed requests: each gets a JSON 4xx with a stable code, never a 500 or HTML,
// and the relay's state is identical before and after (nothing lost, nothing corrupted).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLIENT_KEY, NODE_KEY, faucetBody, testRelay, type TestRelay } from '../../support/relay-app.js';

interface Case {
  name: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  /** A string is sent raw; anything else as JSON. */
  body?: unknown;
  contentType?: string | null;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const json = 'application/json';
const huge = 'x'.repeat(70_000);

const CASES: Case[] = [
  // Framework-level: body encoding
  { name: 'faucet: malformed JSON', url: '/faucet', body: '{"server_public_key":', status: 400, code: 'malformed_json' },
  { name: 'sink: malformed JSON', url: '/sink', body: '{nope}', status: 400, code: 'malformed_json' },
  { name: 'retrieve: malformed JSON', url: '/retrieve', body: '[1,', status: 400, code: 'malformed_json' },
  { name: 'source: trailing garbage', url: '/source', body: '{}x', status: 400, code: 'malformed_json' },
  { name: 'faucet: empty body with JSON content type', url: '/faucet', body: '', status: 400, code: 'malformed_json' },
  { name: 'faucet: text/plain', url: '/faucet', body: 'hello', contentType: 'text/plain', status: 415, code: 'unsupported_media_type' },
  {
    name: 'sink: form-encoded',
    url: '/sink',
    body: 'server_public_key=a',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    code: 'unsupported_media_type',
  },
  { name: 'retrieve: no body, no content type', url: '/retrieve', contentType: null, status: 415, code: 'unsupported_media_type' },
  { name: 'faucet: __proto__ poisoning', url: '/faucet', body: '{"__proto__":{"x":1},"server_public_key":"a"}', status: 400, code: 'malformed_json' },
  { name: 'faucet: body over the size limit', url: '/faucet', body: faucetBody({ chat_history: 'y'.repeat(1_100_000) }), status: 413, code: 'body_too_large' },
  // Non-object bodies
  { name: 'faucet: null', url: '/faucet', body: 'null', status: 400, code: 'invalid_request' },
  { name: 'faucet: array', url: '/faucet', body: '[]', status: 400, code: 'invalid_request' },
  {
    name: 'faucet: JSON string containing the field names',
    url: '/faucet',
    body: '"server_public_key chat_history cipherkey iv"',
    status: 400,
    code: 'invalid_request',
  },
  { name: 'sink: null', url: '/sink', body: 'null', status: 400, code: 'invalid_request' },
  { name: 'sink: array', url: '/sink', body: '[{"server_public_key":"a"}]', status: 400, code: 'invalid_request' },
  { name: 'retrieve: number', url: '/retrieve', body: '42', status: 400, code: 'invalid_request' },
  { name: 'source: string', url: '/source', body: '"x"', status: 400, code: 'invalid_request' },
  { name: 'stream/source: null', url: '/stream/source', body: 'null', status: 400, code: 'invalid_request' },
  { name: 'stream/retrieve: array', url: '/stream/retrieve', body: '[]', status: 400, code: 'invalid_request' },
  // Missing fields and wrong types
  { name: 'faucet: missing chat_history', url: '/faucet', body: faucetBody({ chat_history: undefined }), status: 400, code: 'invalid_request' },
  { name: 'faucet: missing client_public_key', url: '/faucet', body: faucetBody({ client_public_key: undefined }), status: 400, code: 'invalid_request' },
  { name: 'faucet: numeric server key', url: '/faucet', body: faucetBody({ server_public_key: 12345 }), status: 400, code: 'invalid_request' },
  { name: 'faucet: object server key', url: '/faucet', body: faucetBody({ server_public_key: { a: 1 } }), status: 400, code: 'invalid_request' },
  { name: 'faucet: list as cipherkey', url: '/faucet', body: faucetBody({ cipherkey: ['k'] }), status: 400, code: 'invalid_request' },
  { name: 'faucet: empty iv', url: '/faucet', body: faucetBody({ iv: '' }), status: 400, code: 'invalid_request' },
  {
    name: 'faucet: stream without client key',
    url: '/faucet',
    body: faucetBody({ client_public_key: null, stream: true }),
    status: 400,
    code: 'streaming_requires_client_key',
  },
  { name: 'faucet: oversized client key', url: '/faucet', body: faucetBody({ client_public_key: huge.slice(0, 5000) }), status: 400, code: 'field_too_long' },
  { name: 'faucet: unknown node', url: '/faucet', body: faucetBody({ server_public_key: 'dW5rbm93bg==' }), status: 404, code: 'node_not_found' },
  { name: 'sink: missing key', url: '/sink', body: {}, status: 400, code: 'invalid_public_key' },
  { name: 'sink: null key', url: '/sink', body: { server_public_key: null }, status: 400, code: 'invalid_public_key' },
  { name: 'sink: numeric key', url: '/sink', body: { server_public_key: 7 }, status: 400, code: 'invalid_public_key' },
  { name: 'sink: object key', url: '/sink', body: { server_public_key: { k: 1 } }, status: 400, code: 'invalid_public_key' },
  { name: 'sink: empty key', url: '/sink', body: { server_public_key: '' }, status: 400, code: 'invalid_public_key' },
  { name: 'sink: oversized key', url: '/sink', body: { server_public_key: huge.slice(0, 5000) }, status: 400, code: 'field_too_long' },
  {
    name: 'sink: max_batch_size "abc"',
    url: '/sink',
    body: { server_public_key: NODE_KEY, max_batch_size: 'abc' },
    status: 400,
    code: 'invalid_max_batch_size',
  },
  { name: 'sink: max_batch_size 0', url: '/sink', body: { server_public_key: NODE_KEY, max_batch_size: 0 }, status: 400, code: 'invalid_max_batch_size' },
  {
    name: 'sink: max_batch_size negative',
    url: '/sink',
    body: { server_public_key: NODE_KEY, max_batch_size: -3 },
    status: 400,
    code: 'invalid_max_batch_size',
  },
  { name: 'sink: max_batch_size list', url: '/sink', body: { server_public_key: NODE_KEY, max_batch_size: [1] }, status: 400, code: 'invalid_max_batch_size' },
  {
    name: 'sink: max_batch_size false',
    url: '/sink',
    body: { server_public_key: NODE_KEY, max_batch_size: false },
    status: 400,
    code: 'invalid_max_batch_size',
  },
  {
    name: 'source: missing iv',
    url: '/source',
    body: { client_public_key: CLIENT_KEY, chat_history: 'a', cipherkey: 'b' },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'source: numeric chat_history',
    url: '/source',
    body: { client_public_key: CLIENT_KEY, chat_history: 5, cipherkey: 'b', iv: 'c' },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'source: object client key',
    url: '/source',
    body: { client_public_key: { a: 1 }, chat_history: 'a', cipherkey: 'b', iv: 'c' },
    status: 400,
    code: 'invalid_request',
  },
  { name: 'retrieve: missing key', url: '/retrieve', body: {}, status: 400, code: 'invalid_request' },
  { name: 'retrieve: numeric key', url: '/retrieve', body: { client_public_key: 1 }, status: 400, code: 'invalid_request' },
  { name: 'stream/source: missing chunk', url: '/stream/source', body: { session_id: 'abc' }, status: 400, code: 'invalid_request' },
  {
    name: 'stream/source: unknown session',
    url: '/stream/source',
    body: { session_id: 'f'.repeat(32), chunk: 'x' },
    status: 404,
    code: 'stream_session_not_found',
  },
  { name: 'stream/source: numeric session id', url: '/stream/source', body: { session_id: 9, chunk: 'x' }, status: 400, code: 'invalid_request' },
  { name: 'stream/retrieve: missing key', url: '/stream/retrieve', body: {}, status: 400, code: 'invalid_request' },
  // Routing
  { name: 'unknown route', url: '/nope', body: {}, status: 404, code: 'route_not_found' },
  { name: 'unknown GET route', method: 'GET', url: '/static/../../etc/passwd', status: 404, code: 'route_not_found' },
  { name: 'GET on a POST route', method: 'GET', url: '/faucet', status: 405, code: 'method_not_allowed' },
  { name: 'PUT on /sink', method: 'PUT', url: '/sink', body: {}, status: 405, code: 'method_not_allowed' },
  { name: 'POST on /next_server', url: '/next_server', body: {}, status: 405, code: 'method_not_allowed' },
  { name: 'DELETE on /retrieve', method: 'DELETE', url: '/retrieve', status: 405, code: 'method_not_allowed' },
];

describe('malformed requests', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await testRelay();
    // Some state for the rejected requests to (not) disturb.
    await relay.post('/sink', { server_public_key: NODE_KEY });
    await relay.post('/faucet', faucetBody());
    await relay.post('/faucet', faucetBody({ client_public_key: 'streamer', stream: true }));
    await relay.post('/sink', { server_public_key: 'answering-node' });
    await relay.post('/faucet', faucetBody({ server_public_key: 'answering-node', client_public_key: 'waiting-client' }));
    await relay.post('/sink', { server_public_key: 'answering-node' });
    await relay.post('/source', { client_public_key: 'waiting-client', chat_history: 'a', cipherkey: 'b', iv: 'c' });
  });
  after(async () => relay.app.close());

  it(`has at least 40 cases (${CASES.length})`, () => {
    assert.ok(CASES.length >= 40);
  });

  for (const c of CASES) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const before = await relay.store.snapshot();
      const headers: Record<string, string> = { ...c.headers };
      if (c.contentType !== null) headers['content-type'] = c.contentType ?? json;
      const payload = c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      const res = await relay.inject({ method: c.method ?? 'POST', url: c.url, headers, payload });
      assert.equal(res.statusCode, c.status, res.body.slice(0, 300));
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const body = res.json();
      assert.equal(body.code, c.code);
      assert.ok(body.error !== undefined, 'has an error field');
      assert.deepEqual(await relay.store.snapshot(), before, 'state unchanged');
    });
  }

  it('the state set up before the table is still all there', async () => {
    const stats = await relay.store.stats(relay.clock.now());
    assert.equal(stats.queuedRequests, 2);
    assert.equal(stats.responses, 1);
    assert.equal((await relay.post('/retrieve', { client_public_key: 'waiting-client' })).json().chat_history, 'a');
  });
});
