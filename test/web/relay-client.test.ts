// The page's relay client: error answers become words a person understands; relay status is
// read from the diagnostics of this relay and of upstream HEAD alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain, parseDiagnostics } from '../../web/src/relay.js';

const answer = (status: number, body: unknown, retryAfter: string | null = null) => ({ status, body, retryAfter });

test('relay error answers map to plain-language messages', () => {
  const noNode = explain(answer(503, { error: { code: 'no_registered_compute_nodes', message: 'x' } }), 'looking');
  assert.equal(noNode.kind, 'no_node');
  assert.match(noNode.message, /No compute node is online/);
  assert.equal(explain(answer(503, { error: { code: 'no_matching_compute_node' } }), 'x').kind, 'no_node');
  const draining = explain(answer(503, { error: { code: 'relay_draining' } }), 'sending');
  assert.equal(draining.kind, 'draining');
  assert.match(draining.message, /restarting/);
  assert.equal(explain(answer(503, undefined), 'x').kind, 'unavailable');
  const limited = explain(answer(429, { error: { code: 'rate_limited' } }, '7'), 'x');
  assert.equal(limited.kind, 'rate_limited');
  assert.match(limited.message, /about 7 seconds/);
  assert.equal(explain(answer(410, { error: { code: 'expired', reason: 'provider_timeout' } }), 'x').kind, 'timeout');
  assert.equal(explain(answer(410, { error: { status: 'cancelled' } }), 'x').kind, 'cancelled');
  const other = explain(answer(400, { error: { code: 'invalid_request' } }), 'sending your message');
  assert.match(other.message, /while sending your message \(HTTP 400, invalid_request\)/);
});

test('diagnostics of this relay and of upstream HEAD give nodes and queue', () => {
  assert.deepEqual(
    parseDiagnostics({ status: 'ok', draining: false, total_api_v1_registered_compute_nodes: 2, api_v1_registered_compute_nodes: [{}, {}], queue_depth: 3 }),
    {
      nodes: 2,
      queue: 3,
      draining: false,
    },
  );
  // upstream HEAD: no top-level queue depth; it is summed over the listed nodes
  assert.deepEqual(parseDiagnostics({ total_api_v1_registered_compute_nodes: 1, api_v1_registered_compute_nodes: [{ queue_depth: 4 }] }), {
    nodes: 1,
    queue: 4,
    draining: false,
  });
  assert.equal(parseDiagnostics({ status: 'draining', total_api_v1_registered_compute_nodes: 0 }).draining, true);
  assert.deepEqual(parseDiagnostics('nope'), { nodes: null, queue: null, draining: false });
});
