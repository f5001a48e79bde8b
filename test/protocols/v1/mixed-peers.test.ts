// One relay process serves both generations at once: a legacy compute node with a legacy
// client and an API v1 compute node with an API v1 client, end-to-end encrypted, concurrently.
// (The real upstream peers of both generations are run against one relay by bench/peers and
// the shared peers harness; this is the same shape with the project's own demo node and crypto.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { startDemoNode } from '../../../src/node/demo-node.js';
import { LegacyClient, spawnRelay, V1Client, waitFor } from '../../node/harness.js';

test('a legacy node+client and an API v1 node+client on the same relay at the same time', async (t) => {
  const relay = await spawnRelay({ TOKEN_PLACE_RELAY_SERVER_TOKEN: 'mixed-token' });
  t.after(() => relay.stop());
  const logger = pino({ level: 'silent' });
  const legacyNode = await startDemoNode({ relayUrl: relay.url, token: 'mixed-token', protocol: 'legacy', logger, name: 'legacy' });
  t.after(() => legacyNode.stop());
  const v1Node = await startDemoNode({ relayUrl: relay.url, token: 'mixed-token', protocol: 'v1', logger, name: 'v1' });
  t.after(() => v1Node.stop());
  await Promise.all([legacyNode.ready, v1Node.ready]);

  const legacy = await LegacyClient.create(relay.url);
  const v1 = await V1Client.create(relay.url);
  assert.equal(await waitFor('legacy node offered', () => legacy.nodeKey()), legacyNode.publicKey, '/next_server offers only legacy nodes');
  assert.equal(await waitFor('v1 node offered', () => v1.nodeKey()), v1Node.publicKey, '/api/v1/relay/servers/next offers only v1 nodes');

  // Legacy answers are keyed by client key alone, so each concurrent legacy request needs its own
  // client; API v1 answers are bound to request ids, so one v1 client sends all three at once.
  const legacyClients = await Promise.all([0, 1, 2].map(() => LegacyClient.create(relay.url)));
  const rounds = await Promise.all(
    [0, 1, 2].flatMap((i) => [
      legacyClients[i]!.send([{ role: 'user', content: `legacy question ${i}` }]).then((h) => ({ kind: 'legacy', i, text: JSON.stringify(h) })),
      v1.send([{ role: 'user', content: `v1 question ${i}` }]).then((r) => ({ kind: 'v1', i, text: JSON.stringify(r.envelope) })),
    ]),
  );
  for (const r of rounds) assert.match(r.text, new RegExp(`${r.kind} question ${r.i}`), `${r.kind} round ${r.i}`);
  assert.ok(legacyNode.answered >= 3 && v1Node.answered >= 3);

  const diag = (await (await fetch(`${relay.url}/relay/diagnostics`)).json()) as Record<string, unknown>;
  assert.equal(diag.total_api_v1_registered_compute_nodes, 1);
  assert.equal(diag.total_registered_compute_nodes, 2);
});
