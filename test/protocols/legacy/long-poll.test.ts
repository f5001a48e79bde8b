// Long-poll: an idle /sink or /retrieve is held until work or the response arrives.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NODE_KEY, CLIENT_KEY, faucetBody, testRelay, type TestRelay } from '../../support/relay-app.js';

describe('long-poll holds', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await testRelay({ sinkHoldMs: 3000, retrieveHoldMs: 3000 });
  });
  after(async () => relay.app.close());

  it('a held /sink answers with the work as soon as it is queued, and tells the node to poll again at once', async () => {
    await relay.post('/sink', { server_public_key: NODE_KEY }).catch(() => undefined);
    const held = relay.post('/sink', { server_public_key: NODE_KEY });
    let answered = false;
    void held.then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(answered, false, 'still held without work');
    await relay.post('/faucet', faucetBody());
    const res = (await held).json();
    assert.equal(res.next_ping_in_x_seconds, 0);
    assert.equal(res.client_public_key, CLIENT_KEY);
  });

  it('an idle /sink comes back empty with next_ping_in_x_seconds 0 after the hold', async () => {
    const r = await testRelay({ sinkHoldMs: 150 });
    const res = (await r.post('/sink', { server_public_key: NODE_KEY })).json();
    assert.deepEqual(res, { next_ping_in_x_seconds: 0 });
    await r.app.close();
  });

  it('a held /retrieve answers as soon as the node posts the response', async () => {
    await relay.post('/sink', { server_public_key: 'answering-node' });
    await relay.post('/faucet', faucetBody({ server_public_key: 'answering-node', client_public_key: 'waiting' }));
    await relay.post('/sink', { server_public_key: 'answering-node' });
    const held = relay.post('/retrieve', { client_public_key: 'waiting' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await relay.post('/source', { client_public_key: 'waiting', chat_history: 'answer', cipherkey: 'k', iv: 'i' });
    assert.equal((await held).json().chat_history, 'answer');
  });

  it('draining answers held polls at once and slows nodes to one poll a second', async () => {
    const r = await testRelay({ sinkHoldMs: 5000, retrieveHoldMs: 5000 });
    const sink = r.post('/sink', { server_public_key: NODE_KEY });
    const retrieve = r.post('/retrieve', { client_public_key: CLIENT_KEY });
    await new Promise((resolve) => setTimeout(resolve, 50));
    r.drain.start();
    assert.deepEqual((await sink).json(), { next_ping_in_x_seconds: 1 });
    assert.equal((await retrieve).json().error, 'No response available for the given public key');
    await r.app.close();
  });
});
