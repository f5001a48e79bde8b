// The demo compute node against the real relay process over a real port, both protocols,
// including a relay restart in the middle: the node must register again by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoNode } from '../../src/node/demo-node.js';
import { captureLogger, hasApiV1, LegacyClient, spawnRelay, V1Client, waitFor } from './harness.js';

function assertLogsAreBlind(text: string, secrets: string[]): void {
  for (const s of secrets) assert.ok(!text.includes(s), `log output contains a secret or payload: ${s.slice(0, 24)}…`);
  for (const line of text.split('\n').filter(Boolean)) JSON.parse(line); // JSON lines only
}

test('legacy protocol: round trips, streaming, and re-registration after a relay restart', async (t) => {
  const relay = await spawnRelay({ TOKEN_PLACE_RELAY_SERVER_TOKEN: 'node-secret-token' });
  t.after(() => relay.stop());
  const logs = captureLogger();
  const node = await startDemoNode({ relayUrl: relay.url, token: 'node-secret-token', protocol: 'legacy', logger: logs.logger, name: 'legacy-test' });
  t.after(() => node.stop());
  await node.ready;

  const client = await LegacyClient.create(relay.url);
  assert.equal(await client.nodeKey(), node.publicKey);
  const first = (await client.send([{ role: 'user', content: 'first secret question alpha' }])) as { role: string; content: string }[];
  assert.equal(first.length, 2);
  assert.equal(first[0]!.content, 'first secret question alpha');
  assert.equal(first[1]!.role, 'assistant');
  assert.match(first[1]!.content, /turn 1\./);
  assert.match(first[1]!.content, /first secret question alpha/);

  const second = (await client.send([...first, { role: 'user', content: 'and a follow-up beta' }])) as { role: string; content: string }[];
  assert.equal(second.length, 4);
  assert.match(second[3]!.content, /turn 2\./);
  assert.match(second[3]!.content, /Your first message was: “first secret question alpha”/);

  // Streaming path: the answer arrives in several encrypted chunks via /stream/source.
  const streamed = (await client.send([{ role: 'user', content: 'stream this gamma' }], { stream: true })) as string;
  assert.match(streamed, /^Demo node, turn 1\. You said: “stream this gamma”/);

  // Relay restart: everything it knew is gone; the node must come back on its own.
  await relay.stop();
  await waitFor('node noticing the relay is down', async () => (logs.lines().some((l) => l.event === 'relay.unreachable') ? true : undefined));
  await relay.start();
  const after = await LegacyClient.create(relay.url);
  assert.equal(await waitFor('node re-registered', () => after.nodeKey()), node.publicKey);
  const third = (await after.send([{ role: 'user', content: 'after restart delta' }])) as { role: string; content: string }[];
  assert.match(third[1]!.content, /after restart delta/);
  assert.ok(node.answered >= 4);

  const down = logs.lines().filter((l) => l.event === 'relay.unreachable');
  assert.ok(
    down.every((l) => typeof l.retry_in_ms === 'number' && l.level === 40),
    'unreachable relay is a warning with a retry delay',
  );
  assert.ok(logs.lines().some((l) => l.event === 'relay.recovered'));
  assertLogsAreBlind(logs.text(), [node.publicKey, client.keys.publicKeyWire, 'secret question', 'follow-up beta', 'gamma', 'node-secret-token']);
});

test('API v1 protocol: round trips and re-registration after a relay restart', async (t) => {
  const relay = await spawnRelay();
  t.after(() => relay.stop());
  if (!(await hasApiV1(relay.url))) {
    t.skip('this relay build does not serve the API v1 relay routes yet');
    return;
  }
  const logs = captureLogger();
  const node = await startDemoNode({ relayUrl: relay.url, protocol: 'v1', logger: logs.logger, name: 'v1-test' });
  t.after(() => node.stop());
  await node.ready;
  assert.ok(logs.lines().some((l) => l.event === 'node.registered'));

  const client = await V1Client.create(relay.url);
  assert.equal(await client.nodeKey(), node.publicKey);
  const one = await client.send([{ role: 'user', content: 'v1 secret question one' }]);
  assert.equal(one.envelope.protocol, 'tokenplace_api_v1_relay_e2ee');
  assert.equal(one.envelope.version, 1);
  assert.equal(one.envelope.request_id, one.requestId);
  assert.equal(one.envelope.client_public_key, client.keys.publicKeyWire);
  assert.equal(one.envelope.api_v1_response.message.role, 'assistant');
  assert.match(one.envelope.api_v1_response.message.content, /turn 1\. You said: “v1 secret question one”/);

  const two = await client.send([
    { role: 'user', content: 'v1 secret question one' },
    one.envelope.api_v1_response.message,
    { role: 'user', content: 'second v1 turn' },
  ]);
  assert.match(two.envelope.api_v1_response.message.content, /turn 2\./);

  await relay.stop();
  await waitFor('node noticing the relay is down', async () => (logs.lines().some((l) => l.event === 'relay.unreachable') ? true : undefined));
  await relay.start();
  const after = await V1Client.create(relay.url);
  assert.equal(await waitFor('node re-registered', () => after.nodeKey()), node.publicKey);
  const three = await after.send([{ role: 'user', content: 'after the restart' }]);
  assert.match(three.envelope.api_v1_response.message.content, /after the restart/);
  assert.ok(logs.lines().filter((l) => l.event === 'node.registered').length >= 2, 'registered again after the restart');

  await node.stop();
  assert.ok(
    logs.lines().some((l) => l.event === 'node.unregistered' && l.status === 200),
    'unregisters on stop',
  );
  assert.equal(await after.nodeKey(), undefined, 'an unregistered node is no longer offered');
  assertLogsAreBlind(logs.text(), [node.publicKey, client.keys.publicKeyWire, 'secret question', 'second v1 turn', 'after the restart']);
});
