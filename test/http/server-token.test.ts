// The registration token on each compute-node route: none / wrong / right / rotated, and odd
// header values that crashed relay.py (non-ASCII, oversized) are a clean 401.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { CLIENT_KEY, NODE_KEY, faucetBody, testRelay } from '../support/relay-app.js';

const NODE_ROUTES: [string, Record<string, unknown>][] = [
  ['/sink', { server_public_key: NODE_KEY }],
  ['/source', { client_public_key: CLIENT_KEY, chat_history: 'a', cipherkey: 'b', iv: 'c' }],
  ['/stream/source', { session_id: 'f'.repeat(32), chunk: 'x' }],
];
const UNAUTHORISED = { error: { code: 401, message: 'Missing or invalid relay server token' }, code: 'invalid_server_token' };

describe('X-Relay-Server-Token', () => {
  it('with no token configured, node routes are open', async () => {
    const r = await testRelay();
    assert.equal((await r.post('/sink', { server_public_key: NODE_KEY })).statusCode, 200);
    await r.app.close();
  });

  for (const [route, body] of NODE_ROUTES) {
    it(`${route}: missing, wrong, right, rotated`, async () => {
      const r = await testRelay({ serverTokens: ['old-token', 'new-token'] });
      const before = await r.store.snapshot();
      const missing = await r.post(route, body);
      assert.equal(missing.statusCode, 401);
      assert.deepEqual(missing.json(), UNAUTHORISED);
      const wrong = await r.post(route, body, { 'x-relay-server-token': 'nope' });
      assert.equal(wrong.statusCode, 401);
      const prefix = await r.post(route, body, { 'x-relay-server-token': 'new-toke' });
      assert.equal(prefix.statusCode, 401, 'a prefix of a token is not the token');
      assert.deepEqual(await r.store.snapshot(), before, 'rejected before touching state');
      for (const token of ['old-token', ' new-token ']) {
        const ok = await r.post(route, body, { 'x-relay-server-token': token });
        assert.notEqual(ok.statusCode, 401, `${token.trim()} accepted (whitespace stripped)`);
        assert.ok(ok.statusCode < 500);
      }
      await r.app.close();
    });
  }

  it('the token is checked before the body is parsed', async () => {
    const r = await testRelay({ serverTokens: ['t'] });
    const res = await r.inject({ method: 'POST', url: '/sink', headers: { 'content-type': 'application/json' }, payload: '{broken' });
    assert.equal(res.statusCode, 401);
    await r.app.close();
  });

  it('non-ASCII and oversized header values are a 401, not a crash', async () => {
    const r = await testRelay({ serverTokens: ['t'] });
    const latin1 = await r.inject({
      method: 'POST',
      url: '/sink',
      headers: { 'content-type': 'application/json', 'x-relay-server-token': Buffer.from('tö', 'utf8').toString('latin1') },
      payload: '{}',
    });
    assert.equal(latin1.statusCode, 401);
    const huge = await r.post('/sink', { server_public_key: NODE_KEY }, { 'x-relay-server-token': 't'.repeat(5000) });
    assert.equal(huge.statusCode, 401);
    await r.app.close();
  });

  it('client routes never need the token', async () => {
    const r = await testRelay({ serverTokens: ['t'] });
    await r.post('/sink', { server_public_key: NODE_KEY }, { 'x-relay-server-token': 't' });
    assert.equal((await r.post('/faucet', faucetBody())).statusCode, 200);
    assert.equal((await r.post('/retrieve', { client_public_key: CLIENT_KEY })).statusCode, 200);
    assert.equal((await r.inject({ method: 'GET', url: '/next_server' })).statusCode, 200);
    await r.app.close();
  });

  it('config reads one token, a rotation list, or both', () => {
    assert.deepEqual(loadConfig({ TOKEN_PLACE_RELAY_SERVER_TOKEN: ' a ' }).serverTokens, ['a']);
    assert.deepEqual(loadConfig({ TOKEN_PLACE_RELAY_SERVER_TOKENS: 'a, b,,c' }).serverTokens, ['a', 'b', 'c']);
    assert.deepEqual(loadConfig({ TOKEN_PLACE_RELAY_SERVER_TOKEN: 'a', TOKEN_PLACE_RELAY_SERVER_TOKENS: 'b,a' }).serverTokens, ['a', 'b']);
    assert.deepEqual(loadConfig({}).serverTokens, []);
  });
});
