// The page's readers for what nodes and the relay send: progress records and model listings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeProgress, newer, readProgress } from '../../web/src/progress.js';
import { modelsFromDiagnostics, modelsFromList, nodeLabel } from '../../web/src/nodes.js';

const P = 'tokenplace_api_v1_relay_e2ee';
const record = (progress: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  JSON.stringify({ protocol: P, version: 1, request_id: 'r1', client_public_key: 'ck', api_v1_progress: { schema_version: 1, ...progress }, ...over });

test('progress records: only well-formed ones for this request, newest sequence wins', () => {
  const gen = readProgress(
    record({
      sequence: 3,
      phase: 'generating',
      total_prompt_tokens: 40,
      cached_prompt_tokens: 0,
      processed_prompt_tokens: 40,
      generated_tokens: 17,
      elapsed_ms: 2300,
    }),
    'r1',
    'ck',
  );
  assert.deepEqual(gen, { sequence: 3, phase: 'generating', totalPromptTokens: 40, processedPromptTokens: 40, generatedTokens: 17, elapsedMs: 2300 });
  assert.equal(describeProgress(gen), 'The compute node is writing: 17 tokens so far · 2.3 s');
  const prefill = readProgress(
    record({ sequence: 2, phase: 'prefill', total_prompt_tokens: 40, processed_prompt_tokens: 10, generated_tokens: 0, elapsed_ms: 900 }),
    'r1',
    'ck',
  );
  assert.equal(describeProgress(prefill!), 'The compute node is reading the conversation (10 of 40 tokens) · 0.9 s');
  // An older or replayed record does not move the display backwards.
  assert.equal(newer(gen, prefill), gen);
  assert.equal(newer(gen, gen), gen);
  assert.equal(newer(prefill, gen), gen);
  assert.equal(newer(gen, null), gen);
  // Refused: another request, another key, wrong protocol, unknown phase, bad counts, not JSON.
  const ok = { sequence: 1, phase: 'preparing', generated_tokens: 0, elapsed_ms: 5 };
  assert.ok(readProgress(record(ok), 'r1', 'ck'));
  assert.equal(readProgress(record(ok), 'r2', 'ck'), null);
  assert.equal(readProgress(record(ok, { client_public_key: 'other' }), 'r1', 'ck'), null);
  assert.equal(readProgress(record(ok, { protocol: 'x' }), 'r1', 'ck'), null);
  assert.equal(readProgress(record({ ...ok, phase: '<b>hi</b>' }), 'r1', 'ck'), null);
  assert.equal(readProgress(record({ ...ok, generated_tokens: -1 }), 'r1', 'ck'), null);
  assert.equal(readProgress(record({ ...ok, generated_tokens: 1.5 }), 'r1', 'ck'), null);
  assert.equal(readProgress(record({ ...ok, sequence: 0 }), 'r1', 'ck'), null);
  assert.equal(readProgress(record({ ...ok, schema_version: 2 }), 'r1', 'ck'), null);
  assert.equal(readProgress('not json', 'r1', 'ck'), null);
});

test('models: the OpenAI-style listing first, node capabilities as the fallback', () => {
  assert.deepEqual(
    modelsFromList({ object: 'list', data: [{ id: 'qwen3-8b-instruct', owned_by: 'token.place' }, { id: 'tokenplace-demo' }, { id: 'qwen3-8b-instruct' }] }),
    ['qwen3-8b-instruct', 'tokenplace-demo'],
  );
  assert.deepEqual(modelsFromList({ object: 'list', data: [] }), []);
  // With the relay's `live` flags only the models live nodes serve are offered.
  assert.deepEqual(
    modelsFromList({
      object: 'list',
      data: [
        { id: 'qwen3-8b-instruct', live: false },
        { id: 'tokenplace-demo', live: true },
      ],
    }),
    ['tokenplace-demo'],
  );
  assert.equal(modelsFromList({ error: { code: 'not_found' } }), null);
  assert.deepEqual(modelsFromList({ data: [{ id: '<script>' }, { id: 42 }, null, { id: 'ok-1' }] }), ['ok-1'], 'odd ids are dropped');
  const diag = {
    api_v1_registered_compute_nodes: [
      { server_public_key: 'k1', capabilities: { supported_model_ids: ['tokenplace-demo', 'qwen3-8b-instruct'] }, label: 'lab GPU' },
      { server_public_key: 'k2', capabilities: { supported_model_ids: ['qwen3-8b-instruct', 'llama-x'] } },
      { server_public_key: 'k3', capabilities: null },
    ],
  };
  assert.deepEqual(modelsFromDiagnostics(diag), ['tokenplace-demo', 'qwen3-8b-instruct', 'llama-x']);
  assert.deepEqual(modelsFromDiagnostics({}), []);
  assert.equal(nodeLabel(diag, 'k1'), 'lab GPU');
  assert.equal(nodeLabel(diag, 'k2'), undefined);
  assert.equal(
    nodeLabel({ api_v1_registered_compute_nodes: [{ server_public_key: 'k', label: 'x'.repeat(200) }] }, 'k'),
    undefined,
    'over-long labels are not shown',
  );
});
