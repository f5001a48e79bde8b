// Graceful drain over a real port, on the built server as the container runs it: SIGTERM while
// polls are held and requests are in flight → they all complete, /healthz answers 503, exit 0
// before the deadline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startRelayProcess } from '../support/relay-process.js';

const json = { 'content-type': 'application/json' };

describe('graceful drain (SIGTERM)', () => {
  it('answers held polls, finishes in-flight work, reports draining, exits 0 in time', async () => {
    const relay = await startRelayProcess({ TOKENPLACE_RELAY_SINK_HOLD_MS: '8000', TOKENPLACE_RELAY_RETRIEVE_HOLD_MS: '8000', TOKENPLACE_RELAY_DRAIN_SECONDS: '10', TOKENPLACE_RELAY_DRAIN_LINGER_MS: '1500' });
    const { url } = relay;
    // Held polls: a node waiting for work and a client waiting for its answer.
    const heldSink = fetch(`${url}/sink`, { method: 'POST', headers: json, body: JSON.stringify({ server_public_key: 'n2' }) });
    const heldRetrieve = fetch(`${url}/retrieve`, { method: 'POST', headers: json, body: JSON.stringify({ client_public_key: 'c1' }) });
    // In flight: a queued request that a node claims after the signal.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalledAt = Date.now();
    relay.child.kill('SIGTERM');

    const sink = await heldSink;
    assert.equal(sink.status, 200);
    assert.deepEqual(await sink.json(), { next_ping_in_x_seconds: 1 });
    const retrieve = await heldRetrieve;
    assert.equal(retrieve.status, 200);
    assert.ok(Date.now() - signalledAt < 1500, 'held polls answered at once, not at the end of their hold');

    // During the drain the relay still serves work (nothing accepted is dropped) but is not ready.
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 503);
    assert.equal(health.headers.get('retry-after'), '0');
    assert.equal(((await health.json()) as { status: string }).status, 'draining');
    assert.equal((await fetch(`${url}/livez`)).status, 200);
    const queued = await fetch(`${url}/faucet`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ server_public_key: 'n2', client_public_key: 'c2', chat_history: 'h', cipherkey: 'k', iv: 'i' }),
    });
    assert.equal(queued.status, 200);
    const claimed = (await (await fetch(`${url}/sink`, { method: 'POST', headers: json, body: JSON.stringify({ server_public_key: 'n2' }) })).json()) as Record<string, unknown>;
    assert.equal(claimed.chat_history, 'h');

    const code = await relay.exited;
    assert.equal(code, 0, relay.output());
    assert.ok(Date.now() - signalledAt < 10_000, 'exited before the drain deadline');
    assert.match(relay.output(), /relay\.shutdown\.signal/);
    assert.match(relay.output(), /relay\.shutdown\.complete/);
    await assert.rejects(fetch(`${url}/livez`), 'listener closed after the drain');
  });

  it('the deadline bounds the whole drain, linger included', async () => {
    const relay = await startRelayProcess({ TOKENPLACE_RELAY_DRAIN_SECONDS: '2', TOKENPLACE_RELAY_DRAIN_LINGER_MS: '5000' });
    relay.child.kill('SIGINT');
    const code = await relay.exited;
    assert.equal(code, 0, 'linger is cut by the drain deadline');
  });

  it('a bad configuration stops start-up with a message naming the variable', async () => {
    await assert.rejects(startRelayProcess({ TOKENPLACE_RELAY_REQUEST_TTL_SECONDS: 'soon' }), /TOKENPLACE_RELAY_REQUEST_TTL_SECONDS: must be a whole number/);
  });
});
