// GET /api/v1/models: the catalogue (TOKENPLACE_MODEL_CATALOGUE, default token.place's launch
// model) plus what live nodes advertise, in the OpenAI list shape; the chat page's reader accepts it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { DEFAULT_MODEL_CATALOGUE } from '../../../src/protocols/v1/models.js';
import { modelsFromList } from '../../../web/src/nodes.js';
import { CAPS, NODE_A, NODE_B, registerNode, v1Relay } from './support.js';

const NODE_C = Buffer.from('-----BEGIN PUBLIC KEY-----\nNODE-C\n-----END PUBLIC KEY-----\n').toString('base64');

describe('GET /api/v1/models', () => {
  it('lists the launch catalogue, not live, when no node serves it; CORS open, never cached', async () => {
    const relay = await v1Relay();
    const res = await relay.inject({ method: 'GET', url: '/api/v1/models', headers: { origin: 'https://token.place' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.deepEqual(res.json(), {
      object: 'list',
      data: [
        {
          id: 'qwen3-8b-instruct',
          object: 'model',
          owned_by: 'Qwen',
          created: 1_707_190_418,
          catalogued: true,
          aliases: ['llama-3.1-8b-instruct', 'llama-3-8b-instruct', 'gpt-3.5-turbo', 'gpt-5-chat-latest'],
          live: false,
          live_nodes: 0,
        },
      ],
    });
    // upstream scripts/promotion_smoke.py: exactly the launch model, owned by Qwen.
    assert.deepEqual(
      res.json().data.map((m: { id: string }) => m.id),
      ['qwen3-8b-instruct'],
    );
    assert.deepEqual((await relay.inject({ method: 'GET', url: '/v1/models' })).json(), res.json(), 'upstream alias');
    await relay.app.close();
  });

  it('counts live nodes per model and adds models only live nodes serve (never the doctor probe ids)', async () => {
    const relay = await v1Relay();
    await registerNode(relay, NODE_A);
    await registerNode(relay, NODE_B, { ...CAPS, supported_model_ids: ['qwen3-8b-instruct', 'tokenplace-demo'] });
    await registerNode(relay, NODE_C, { ...CAPS, supported_model_ids: ['tokenplace-doctor-probe-0011223344556677'] });
    const body = (await relay.inject({ method: 'GET', url: '/api/v1/models' })).json();
    assert.deepEqual(
      body.data.map((m: { id: string; live: boolean; live_nodes: number; catalogued: boolean }) => [m.id, m.live, m.live_nodes, m.catalogued]),
      [
        ['qwen3-8b-instruct', true, 2, true],
        ['tokenplace-demo', true, 1, false],
      ],
    );
    assert.deepEqual(modelsFromList(body), ['qwen3-8b-instruct', 'tokenplace-demo'], 'the chat page reads the ids');
    // Leases lapse: the models go with their nodes (after the listing's one-second cache).
    relay.clock.advance(31_000);
    await relay.app.relay.v1.sweep();
    const later = (await relay.inject({ method: 'GET', url: '/api/v1/models' })).json();
    assert.deepEqual(
      later.data.map((m: { id: string; live: boolean }) => [m.id, m.live]),
      [['qwen3-8b-instruct', false]],
    );
    await relay.app.close();
  });

  it('TOKENPLACE_MODEL_CATALOGUE: a JSON list or id[=owner] commas, checked and frozen', async () => {
    assert.deepEqual(loadConfig({}).modelCatalogue, DEFAULT_MODEL_CATALOGUE);
    const list = loadConfig({ TOKENPLACE_MODEL_CATALOGUE: 'Qwen3-8B-Instruct=Qwen, tokenplace-demo' }).modelCatalogue;
    assert.deepEqual(list, [
      { id: 'qwen3-8b-instruct', owned_by: 'Qwen' },
      { id: 'tokenplace-demo', owned_by: 'token.place' },
    ]);
    assert.ok(Object.isFrozen(list) && Object.isFrozen(list[0]));
    const json = loadConfig({ TOKENPLACE_MODEL_CATALOGUE: '[{"id":"a-1","owned_by":"Lab","created":1700000000},{"id":"b"}]' }).modelCatalogue;
    assert.deepEqual(json, [
      { id: 'a-1', owned_by: 'Lab', created: 1_700_000_000 },
      { id: 'b', owned_by: 'token.place' },
    ]);
    for (const bad of [
      '[',
      '{"id":"x"}',
      '[{"name":"x"}]',
      '[{"id":"x","extra":1}]',
      '[{"id":"x","created":-1}]',
      'a,a',
      'bad id',
      'x=',
      'x=a=b',
      ',',
      'm'.repeat(129),
      Array.from({ length: 65 }, (_, i) => `m${i}`).join(','),
    ]) {
      assert.throws(
        () => loadConfig({ TOKENPLACE_MODEL_CATALOGUE: bad }),
        (err: unknown) => err instanceof ConfigError && err.variable === 'TOKENPLACE_MODEL_CATALOGUE',
        bad,
      );
    }
    const relay = await v1Relay({}, { TOKENPLACE_MODEL_CATALOGUE: 'tokenplace-demo=token.place' });
    await registerNode(relay, NODE_A);
    const body = (await relay.inject({ method: 'GET', url: '/api/v1/models' })).json();
    assert.deepEqual(
      body.data.map((m: { id: string; catalogued: boolean; live: boolean }) => [m.id, m.catalogued, m.live]),
      [
        ['tokenplace-demo', true, false],
        ['qwen3-8b-instruct', false, true],
      ],
    );
    await relay.app.close();
  });
});
