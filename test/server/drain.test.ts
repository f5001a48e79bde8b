// Graceful drain over a real port, on the built server as the container runs it: SIGTERM while
// polls are held and requests are in flight → they all complete, /healthz answers 503, exit 0
// before the deadline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startRelayProcess } from '../support/relay-process.js';

const json = { 'content-type': 'application/json' };

describe('graceful drain (SIGTERM)', () => {
  it('answers held polls, finishes in-flight work, reports draining, exits 0 in time', async () => {
    const relay = await startRelayProcess({
      TOKENPLACE_RELAY_SINK_HOLD_MS: '8000',
      TOKENPLACE_RELAY_RETRIEVE_HOLD_MS: '8000',
      TOKENPLACE_RELAY_DRAIN_SECONDS: '10',
      TOKENPLACE_RELAY_DRAIN_LINGER_MS: '1500',
    });
    const { url } = relay;
    // Held polls: a node waiting for work and a client waiting for its answer.
    const heldSink = fetch(`${url}/sink`, { method: 'POST', headers: json, body: JSON.stringify({ server_public_key: 'n2' }) });
    const heldRetrieve = fetch(`${url}/retrieve`, { method: 'POST', headers: json, body: JSON.stringify({ client_public_key: 'c1' }) });
    // In flight: a queued request that a node claims after the signal.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // n3 registers with a poll it gives up on (so nothing is held for it), then gets work.
    await fetch(`${url}/sink`, { method: 'POST', headers: json, body: JSON.stringify({ server_public_key: 'n3' }), signal: AbortSignal.timeout(200) }).catch(
      () => undefined,
    );
    const early = await fetch(`${url}/faucet`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ server_public_key: 'n3', client_public_key: 'c2', chat_history: 'h', cipherkey: 'k', iv: 'i' }),
    });
    assert.equal(early.status, 200);
    const signalledAt = Date.now();
    relay.child.kill('SIGTERM');

    const sink = await heldSink;
    assert.equal(sink.status, 200);
    assert.deepEqual(await sink.json(), { next_ping_in_x_seconds: 1 });
    const retrieve = await heldRetrieve;
    assert.equal(retrieve.status, 200);
    assert.ok(Date.now() - signalledAt < 1500, 'held polls answered at once, not at the end of their hold');

    // During the drain the relay still hands out and answers queued work but is not ready, and
    // a memory-store relay refuses new submissions: it would drop them at exit.
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 503);
    assert.equal(health.headers.get('retry-after'), '0');
    assert.equal(((await health.json()) as { status: string }).status, 'draining');
    assert.equal((await fetch(`${url}/livez`)).status, 200);
    const refused = await fetch(`${url}/faucet`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ server_public_key: 'n2', client_public_key: 'c2', chat_history: 'late', cipherkey: 'k', iv: 'i' }),
    });
    assert.equal(refused.status, 503);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal(((await refused.json()) as { code: string }).code, 'relay_draining');
    const claimed = (await (await fetch(`${url}/sink`, { method: 'POST', headers: json, body: JSON.stringify({ server_public_key: 'n3' }) })).json()) as Record<
      string,
      unknown
    >;
    assert.equal(claimed.chat_history, 'h', 'work queued before the signal is still handed out');

    const code = await relay.exited;
    assert.equal(code, 0, relay.output());
    assert.ok(Date.now() - signalledAt < 10_000, 'exited before the drain deadline');
    assert.match(relay.output(), /relay\.shutdown\.signal/);
    assert.match(relay.output(), /relay\.shutdown\.complete/);
    await assert.rejects(fetch(`${url}/livez`), 'listener closed after the drain');
  });

  it('SIGTERM under legacy load: every submission is delivered or refused with a code, none accepted then dropped', async () => {
    const relay = await startRelayProcess({
      TOKENPLACE_RELAY_SINK_HOLD_MS: '2000',
      TOKENPLACE_RELAY_RETRIEVE_HOLD_MS: '2000',
      TOKENPLACE_RELAY_DRAIN_SECONDS: '10',
      TOKENPLACE_RELAY_DRAIN_LINGER_MS: '2500',
      TOKENPLACE_RATE_LIMIT: 'false',
    });
    const { url } = relay;
    const post = async (path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> } | null> => {
      try {
        const res = await fetch(`${url}${path}`, { method: 'POST', headers: json, body: JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      } catch {
        return null; // the listener has closed
      }
    };
    let stop = false;
    // Two honest nodes: poll, answer what they claimed.
    const node = async (key: string): Promise<void> => {
      while (!stop) {
        const work = await post('/sink', { server_public_key: key });
        if (work === null) return;
        const item = work.body;
        if (typeof item.client_public_key === 'string') {
          await post('/source', { client_public_key: item.client_public_key, chat_history: `re:${String(item.chat_history)}`, cipherkey: 'k', iv: 'i' });
        }
      }
    };
    for (const key of ['drain-n1', 'drain-n2']) await post('/sink', { server_public_key: key });
    const nodes = ['drain-n1', 'drain-n2'].map(node);
    const tally = { accepted: 0, delivered: 0, refused: new Map<string, number>(), lost: 0 };
    // Clients: one request at a time, each retrieved until answered or the relay is gone.
    const client = async (i: number): Promise<void> => {
      for (let turn = 0; !stop; turn += 1) {
        const key = `drain-c${i}`;
        const sent = await post('/faucet', {
          server_public_key: `drain-n${1 + (i % 2)}`,
          client_public_key: key,
          chat_history: `${i}:${turn}`,
          cipherkey: 'k',
          iv: 'i',
        });
        if (sent === null) return;
        if (sent.status !== 200) {
          const code = String(sent.body.code);
          tally.refused.set(code, (tally.refused.get(code) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        tally.accepted += 1;
        for (;;) {
          const got = await post('/retrieve', { client_public_key: key });
          if (got === null) {
            tally.lost += 1;
            return;
          }
          if (got.body.chat_history === `re:${i}:${turn}`) {
            tally.delivered += 1;
            break;
          }
        }
      }
    };
    const clients = Array.from({ length: 20 }, (_, i) => client(i));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    relay.child.kill('SIGTERM');
    assert.equal(await relay.exited, 0, relay.output());
    stop = true;
    await Promise.all([...clients, ...nodes]);
    assert.ok(tally.accepted > 50, `load before the signal (${tally.accepted} accepted)`);
    assert.ok((tally.refused.get('relay_draining') ?? 0) > 0, 'submissions during the drain were refused');
    assert.deepEqual([...tally.refused.keys()], ['relay_draining'], 'every refusal carries the draining code');
    assert.equal(tally.lost, 0, 'no accepted request was dropped');
    assert.equal(tally.delivered, tally.accepted);
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
