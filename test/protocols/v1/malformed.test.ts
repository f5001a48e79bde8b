// A table of malformed and unauthorised API v1 requests: each gets a JSON error with a stable
// code and the status of protocol.md §E.3 (400/401/403/404/409/410, or 413/415 for the body
// encoding), never a 500 or HTML, and the relay's state is identical before and after.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestRelay } from '../../support/relay-app.js';
import { NODE_KEY } from '../../support/relay-app.js';
import { CAPS, CLIENT_A, CLIENT_B, NODE_A, NODE_B, NODE_HEADERS, progressBody, registerNode, requestBody, responseBody, v1Relay } from './support.js';

interface Case {
  name: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  /** A string is sent raw; anything else as JSON. A function gets the node's credential. */
  /** A body, or a function of the node's control credential that makes one. */
  body?: unknown;
  contentType?: string | null;
  /** Node routes get the right token unless this replaces the headers. */
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const R = '/api/v1/relay';
const long = (n: number) => 'x'.repeat(n);
const caps = (overrides: Record<string, unknown>) => ({ ...CAPS, ...overrides });
const register = (capabilities: unknown) => ({ server_public_key: NODE_A, capabilities });

const CASES: Case[] = [
  // Body encoding
  { name: 'requests: malformed JSON', url: `${R}/requests`, body: '{"server_public_key":', status: 400, code: 'malformed_json' },
  { name: 'requests: text/plain', url: `${R}/requests`, body: 'hello', contentType: 'text/plain', status: 415, code: 'unsupported_media_type' },
  { name: 'register: no body, no content type', url: `${R}/servers/register`, contentType: null, status: 415, code: 'unsupported_media_type' },
  { name: 'requests: body over the size limit', url: `${R}/requests`, body: requestBody({ ciphertext: long(1_100_000) }), status: 413, code: 'body_too_large' },
  { name: 'poll: __proto__ poisoning', url: `${R}/servers/poll`, body: '{"__proto__":{"x":1},"server_public_key":"a"}', status: 400, code: 'malformed_json' },
  // Not an object
  { name: 'requests: null', url: `${R}/requests`, body: 'null', status: 400, code: 'invalid_request' },
  { name: 'register: array', url: `${R}/servers/register`, body: '[{"server_public_key":"a"}]', status: 400, code: 'invalid_request' },
  { name: 'retrieve: number', url: `${R}/responses/retrieve`, body: '42', status: 400, code: 'invalid_request' },
  { name: 'cancel: string', url: `${R}/requests/cancel`, body: '"req-q"', status: 400, code: 'invalid_request' },
  // Admission: ciphertext-only envelopes
  {
    name: 'requests: plaintext messages',
    url: `${R}/requests`,
    body: requestBody({ messages: [{ role: 'user', content: 'hi' }] }),
    status: 400,
    code: 'plaintext_fields_forbidden',
  },
  { name: 'requests: plaintext prompt', url: `${R}/requests`, body: requestBody({ prompt: 'hi' }), status: 400, code: 'plaintext_fields_forbidden' },
  { name: 'requests: unknown field', url: `${R}/requests`, body: requestBody({ stream: true }), status: 400, code: 'unexpected_fields_forbidden' },
  { name: 'requests: missing cipherkey', url: `${R}/requests`, body: requestBody({ cipherkey: undefined }), status: 400, code: 'invalid_request' },
  {
    name: 'requests: neither ciphertext nor chat_history',
    url: `${R}/requests`,
    body: requestBody({ ciphertext: undefined }),
    status: 400,
    code: 'invalid_request',
  },
  { name: 'requests: no request_id', url: `${R}/requests`, body: requestBody({ request_id: undefined }), status: 400, code: 'invalid_request' },
  { name: 'requests: request_id with spaces', url: `${R}/requests`, body: requestBody({ request_id: 'a b' }), status: 400, code: 'invalid_request' },
  { name: 'requests: request_id too long', url: `${R}/requests`, body: requestBody({ request_id: long(129) }), status: 400, code: 'invalid_request' },
  { name: 'requests: numeric server key', url: `${R}/requests`, body: requestBody({ server_public_key: 12345 }), status: 400, code: 'invalid_public_key' },
  { name: 'requests: empty client key', url: `${R}/requests`, body: requestBody({ client_public_key: '' }), status: 400, code: 'invalid_request' },
  { name: 'requests: oversized client key', url: `${R}/requests`, body: requestBody({ client_public_key: long(5000) }), status: 400, code: 'field_too_long' },
  { name: 'requests: another protocol', url: `${R}/requests`, body: requestBody({ protocol: 'legacy' }), status: 400, code: 'invalid_request' },
  { name: 'requests: version 2', url: `${R}/requests`, body: requestBody({ version: 2 }), status: 400, code: 'invalid_request' },
  {
    name: 'requests: numeric cancel token',
    url: `${R}/requests`,
    body: requestBody({ request_id: 'new', cancel_token: 7 }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'requests: unknown node',
    url: `${R}/requests`,
    body: requestBody({ request_id: 'new', server_public_key: NODE_B }),
    status: 404,
    code: 'node_not_found',
  },
  {
    name: 'requests: a legacy node',
    url: `${R}/requests`,
    body: requestBody({ request_id: 'new', server_public_key: NODE_KEY }),
    status: 404,
    code: 'node_not_found',
  },
  {
    name: 'requests: request id already queued',
    url: `${R}/requests`,
    body: requestBody({ request_id: 'req-q', ciphertext: 'b3RoZXI=' }),
    status: 409,
    code: 'request_id_conflict',
  },
  // Registration
  { name: 'register: no token', url: `${R}/servers/register`, body: register(CAPS), headers: {}, status: 401, code: 'invalid_server_token' },
  {
    name: 'register: wrong token',
    url: `${R}/servers/register`,
    body: register(CAPS),
    headers: { 'x-relay-server-token': 'nope' },
    status: 401,
    code: 'invalid_server_token',
  },
  {
    name: 'register: non-ASCII token',
    url: `${R}/servers/register`,
    body: register(CAPS),
    headers: { 'x-relay-server-token': 'tökén' },
    status: 401,
    code: 'invalid_server_token',
  },
  { name: 'register: no key', url: `${R}/servers/register`, body: { capabilities: CAPS }, status: 400, code: 'invalid_public_key' },
  {
    name: 'register: object key',
    url: `${R}/servers/register`,
    body: { server_public_key: { k: 1 }, capabilities: CAPS },
    status: 400,
    code: 'invalid_public_key',
  },
  { name: 'register: capabilities a string', url: `${R}/servers/register`, body: register('gpu'), status: 400, code: 'invalid_capabilities' },
  {
    name: 'register: unknown context tier',
    url: `${R}/servers/register`,
    body: register(caps({ active_context_tier: '128k' })),
    status: 400,
    code: 'invalid_capabilities',
  },
  {
    name: 'register: 65 model ids',
    url: `${R}/servers/register`,
    body: register(caps({ supported_model_ids: Array.from({ length: 65 }, (_, i) => `m${i}`) })),
    status: 400,
    code: 'invalid_capabilities',
  },
  {
    name: 'register: max_concurrency 0',
    url: `${R}/servers/register`,
    body: register(caps({ max_concurrency: 0 })),
    status: 400,
    code: 'invalid_capabilities',
  },
  {
    name: 'register: context window below its tier',
    url: `${R}/servers/register`,
    body: register(caps({ maximum_total_context_tokens: 4096 })),
    status: 400,
    code: 'invalid_capabilities',
  },
  {
    name: 'register: reservation above the maximum',
    url: `${R}/servers/register`,
    body: register(caps({ default_output_token_reservation: 4096 })),
    status: 400,
    code: 'invalid_capabilities',
  },
  { name: 'register: api_version v2', url: `${R}/servers/register`, body: register(caps({ api_version: 'v2' })), status: 400, code: 'invalid_capabilities' },
  // Poll and control
  { name: 'poll: unknown node', url: `${R}/servers/poll`, body: { server_public_key: NODE_B }, status: 404, code: 'node_not_found' },
  {
    name: 'poll: invalid capabilities',
    url: `${R}/servers/poll`,
    body: { server_public_key: NODE_A, capabilities: caps({ backend_class: 5 }) },
    status: 400,
    code: 'invalid_capabilities',
  },
  { name: 'poll: no token', url: `${R}/servers/poll`, body: { server_public_key: NODE_A }, headers: {}, status: 401, code: 'invalid_server_token' },
  {
    name: 'control: wrong credential',
    url: `${R}/servers/control`,
    body: { server_public_key: NODE_A, request_id: 'req-f', control_credential: 'guess' },
    status: 403,
    code: 'invalid_control_credential',
  },
  {
    name: 'control: no credential',
    url: `${R}/servers/control`,
    body: { server_public_key: NODE_A, request_id: 'req-f' },
    status: 403,
    code: 'invalid_control_credential',
  },
  {
    name: 'control: unknown node',
    url: `${R}/servers/control`,
    body: (c: string) => ({ server_public_key: NODE_B, request_id: 'req-f', control_credential: c }),
    status: 403,
    code: 'invalid_control_credential',
  },
  {
    name: 'control: no request id',
    url: `${R}/servers/control`,
    body: (c: string) => ({ server_public_key: NODE_A, control_credential: c }),
    status: 400,
    code: 'invalid_request',
  },
  // Responses and progress
  { name: 'responses: no token', url: `${R}/responses`, body: responseBody({ request_id: 'req-f' }), headers: {}, status: 401, code: 'invalid_server_token' },
  {
    name: 'responses: plaintext content',
    url: `${R}/responses`,
    body: responseBody({ request_id: 'req-f', content: 'the answer' }),
    status: 400,
    code: 'plaintext_fields_forbidden',
  },
  {
    name: 'responses: an unknown field',
    url: `${R}/responses`,
    body: responseBody({ request_id: 'req-f', node_id: NODE_A }),
    status: 400,
    code: 'unexpected_fields_forbidden',
  },
  { name: 'responses: no request id', url: `${R}/responses`, body: responseBody({ request_id: undefined }), status: 400, code: 'invalid_request' },
  { name: 'responses: unknown request', url: `${R}/responses`, body: responseBody({ request_id: 'never-admitted' }), status: 410, code: 'request_gone' },
  {
    name: 'progress: an extra field',
    url: `${R}/progress`,
    body: (c: string) => progressBody(c, { request_id: 'req-f', phase: 'prefill' }),
    status: 400,
    code: 'invalid_progress',
  },
  {
    name: 'progress: a missing field',
    url: `${R}/progress`,
    body: (c: string) => progressBody(c, { request_id: 'req-f', iv: undefined }),
    status: 400,
    code: 'invalid_progress',
  },
  {
    name: 'progress: version 2',
    url: `${R}/progress`,
    body: (c: string) => progressBody(c, { request_id: 'req-f', version: 2 }),
    status: 400,
    code: 'invalid_progress',
  },
  {
    name: 'progress: wrong credential',
    url: `${R}/progress`,
    body: progressBody('guess', { request_id: 'req-f' }),
    status: 403,
    code: 'invalid_control_credential',
  },
  {
    name: 'progress: request not in flight',
    url: `${R}/progress`,
    body: (c: string) => progressBody(c, { request_id: 'req-q' }),
    status: 410,
    code: 'progress_not_active',
  },
  // Unregister
  {
    name: 'unregister: wrong credential',
    url: `${R}/servers/unregister`,
    body: { server_public_key: NODE_A, control_credential: 'guess' },
    status: 403,
    code: 'invalid_control_credential',
  },
  { name: 'unregister: no key', url: `${R}/servers/unregister`, body: {}, status: 400, code: 'invalid_public_key' },
  { name: '/unregister alias: no token', url: '/unregister', body: { server_public_key: NODE_A }, headers: {}, status: 401, code: 'invalid_server_token' },
  {
    name: '/v2/relay/unregister: no credential',
    url: '/v2/relay/unregister',
    body: { server_public_key: NODE_A },
    status: 403,
    code: 'invalid_control_credential',
  },
  // Client routes
  {
    name: 'cancel: wrong token',
    url: `${R}/requests/cancel`,
    body: { client_public_key: CLIENT_A, request_id: 'req-q', cancel_token: 'guess' },
    status: 403,
    code: 'invalid_cancel_token',
  },
  {
    name: 'cancel: no token',
    url: `${R}/requests/cancel`,
    body: { client_public_key: CLIENT_A, request_id: 'req-q' },
    status: 403,
    code: 'invalid_cancel_token',
  },
  {
    name: "cancel: another client's request",
    url: `${R}/requests/cancel`,
    body: { client_public_key: NODE_B, request_id: 'req-q', cancel_token: 'cancel-secret-1' },
    status: 403,
    code: 'invalid_cancel_token',
  },
  {
    name: 'cancel: no request id',
    url: `${R}/requests/cancel`,
    body: { client_public_key: CLIENT_A, cancel_token: 'cancel-secret-1' },
    status: 400,
    code: 'invalid_request',
  },
  { name: 'retrieve: no client key', url: `${R}/responses/retrieve`, body: { request_id: 'req-q' }, status: 400, code: 'invalid_request' },
  {
    name: 'retrieve: numeric request id',
    url: `${R}/responses/retrieve`,
    body: { client_public_key: CLIENT_A, request_id: 5 },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'retrieve: unknown request',
    url: `${R}/responses/retrieve`,
    body: { client_public_key: CLIENT_A, request_id: 'never-admitted' },
    status: 404,
    code: 'unknown_request',
  },
  {
    name: 'retrieve: nothing held, no request id',
    url: `${R}/responses/retrieve`,
    body: { client_public_key: CLIENT_B },
    status: 404,
    code: 'no_response_available',
  },
  { name: 'next: unknown context tier', method: 'GET', url: `${R}/servers/next?context_tier=1m`, status: 400, code: 'invalid_context_tier' },
  { name: 'next: model given twice', method: 'GET', url: `${R}/servers/next?model=a&model=b`, status: 400, code: 'invalid_request' },
  { name: 'next: model too long', method: 'GET', url: `${R}/servers/next?model=${long(129)}`, status: 400, code: 'field_too_long' },
  // Methods
  { name: 'GET on a POST route', method: 'GET', url: `${R}/requests`, status: 405, code: 'method_not_allowed' },
  { name: 'POST on /relay/diagnostics', url: '/relay/diagnostics', body: {}, status: 405, code: 'method_not_allowed' },
  { name: 'DELETE on poll', method: 'DELETE', url: `${R}/servers/poll`, status: 405, code: 'method_not_allowed' },
];

const NODE_ROUTES = new Set([
  `${R}/servers/register`,
  `${R}/servers/poll`,
  `${R}/servers/control`,
  `${R}/servers/unregister`,
  `${R}/responses`,
  `${R}/progress`,
  '/unregister',
  '/v2/relay/unregister',
]);

describe('API v1 malformed and unauthorised requests', () => {
  let relay: TestRelay;
  let credential: string;
  before(async () => {
    relay = await v1Relay();
    credential = await registerNode(relay);
    // A request in flight (req-f) and one queued behind it (req-q), plus a legacy node.
    assert.equal((await relay.post(`${R}/requests`, requestBody({ request_id: 'req-f' }))).statusCode, 200);
    assert.equal((await relay.post(`${R}/servers/poll`, { server_public_key: NODE_A }, NODE_HEADERS)).json().request_id, 'req-f');
    assert.equal((await relay.post(`${R}/requests`, requestBody({ request_id: 'req-q' }))).statusCode, 200);
    assert.equal((await relay.post('/sink', { server_public_key: NODE_KEY }, NODE_HEADERS)).statusCode, 200);
  });
  after(async () => relay.app.close());

  it(`has at least 30 cases (${CASES.length})`, () => {
    assert.ok(CASES.length >= 30);
  });

  for (const c of CASES) {
    it(`${c.name} → ${c.status} ${c.code}, state unchanged`, async () => {
      const before = await relay.store.snapshot();
      const body = typeof c.body === 'function' ? (c.body as (credential: string) => unknown)(credential) : c.body;
      const headers: Record<string, string> = { ...(NODE_ROUTES.has(c.url) ? NODE_HEADERS : {}) };
      if (c.headers !== undefined) {
        delete headers['x-relay-server-token'];
        Object.assign(headers, c.headers);
      }
      if (c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
      const res = await relay.inject({
        method: c.method ?? 'POST',
        url: c.url,
        headers,
        ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      assert.equal(res.statusCode, c.status, res.body.slice(0, 300));
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const json = res.json();
      assert.equal(json.code, c.code, res.body.slice(0, 300));
      assert.ok(json.error !== undefined, 'an error member');
      assert.deepEqual(await relay.store.snapshot(), before, 'state changed');
    });
  }

  it('the state still works afterwards: the queued request is served next', async () => {
    const work = await relay.post(`${R}/servers/poll`, { server_public_key: NODE_A }, NODE_HEADERS);
    assert.equal(work.json().request_id, 'req-q');
  });
});
