// Node identity: the operator's label (register/poll `node_label`), the fingerprint that names a
// node in logs and diagnostics, and the lifecycle log lines (never the key).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApp } from '../../../src/app.js';
import { configWith, type Config } from '../../../src/config.js';
import { Drain } from '../../../src/core/drain.js';
import { keyFingerprint } from '../../../src/core/fingerprint.js';
import { createLogger } from '../../../src/core/logger.js';
import { addressPrefix } from '../../../src/ops/node-log.js';
import { storeLimits } from '../../../src/store/limits.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { FakeClock } from '../../support/fake-clock.js';
import { CAPS, NODE_A, NODE_B, NODE_HEADERS, TOKEN, registerNode, v1Relay } from './support.js';

const LEGACY_KEY = Buffer.from('-----BEGIN PUBLIC KEY-----\nLEGACY-NODE\n-----END PUBLIC KEY-----\n').toString('base64');

/** A relay whose log lines are kept (JSON objects) for the test to read. */
async function loggedRelay(overrides: Partial<Config> = {}) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = createLogger('info', {
    write(text: string) {
      raw.push(text);
      lines.push(JSON.parse(text) as Record<string, unknown>);
    },
  });
  const config = configWith({ sinkHoldMs: 0, retrieveHoldMs: 0, v1PollWaitSeconds: 0, ...overrides }, { TOKEN_PLACE_RELAY_SERVER_TOKEN: TOKEN });
  const clock = new FakeClock();
  const store = new MemoryStore(storeLimits(config));
  const app = await buildApp({ config, store, clock, drain: new Drain(), logger });
  await app.ready();
  const post = (url: string, payload: unknown, remoteAddress = '198.51.100.23') =>
    app.inject({ method: 'POST', url, payload: payload as object, remoteAddress, headers: { 'content-type': 'application/json', ...NODE_HEADERS } });
  const nodeLines = () => lines.filter((l) => typeof l.event === 'string' && l.event.startsWith('node.'));
  return { app, store, clock, lines, raw, post, nodeLines };
}

describe('node labels', () => {
  it('a label sent at registration is trimmed, stored and listed with the fingerprint', async () => {
    const relay = await v1Relay();
    const res = await relay.post(
      '/api/v1/relay/servers/register',
      { server_public_key: NODE_A, capabilities: CAPS, node_label: '  Kitchen GPU · 4090  ' },
      NODE_HEADERS,
    );
    assert.equal(res.statusCode, 200, res.body);
    await registerNode(relay, NODE_B);
    const body = (await relay.inject({ method: 'GET', url: '/relay/diagnostics' })).json();
    const byKey = new Map(body.api_v1_registered_compute_nodes.map((n: { server_public_key: string }) => [n.server_public_key, n]));
    assert.deepEqual(byKey.get(NODE_A), {
      ...(byKey.get(NODE_A) as object),
      fingerprint: keyFingerprint(NODE_A),
      label: 'Kitchen GPU · 4090',
    });
    assert.equal((byKey.get(NODE_B) as { label: unknown }).label, null);
    assert.equal(keyFingerprint(NODE_A).length, 12);
    // The upstream capabilities shape stays as it was: the label is beside it, not in it.
    assert.equal('label' in (byKey.get(NODE_A) as { capabilities: object }).capabilities, false);
    await relay.app.close();
  });

  it('a poll with capabilities replaces the label; a poll without keeps it', async () => {
    const relay = await v1Relay();
    await relay.post('/api/v1/relay/servers/register', { server_public_key: NODE_A, capabilities: CAPS, node_label: 'first' }, NODE_HEADERS);
    const label = async () => (await relay.inject({ method: 'GET', url: '/relay/diagnostics' })).json().api_v1_registered_compute_nodes[0].label;
    assert.equal((await relay.post('/api/v1/relay/servers/poll', { server_public_key: NODE_A }, NODE_HEADERS)).statusCode, 200);
    assert.equal(await label(), 'first');
    await relay.post('/api/v1/relay/servers/poll', { server_public_key: NODE_A, capabilities: CAPS, node_label: 'second' }, NODE_HEADERS);
    assert.equal(await label(), 'second');
    await relay.post('/api/v1/relay/servers/poll', { server_public_key: NODE_A, capabilities: CAPS }, NODE_HEADERS);
    assert.equal(await label(), null);
    await relay.app.close();
  });

  it('refuses labels that are too long, not text, or hold control/format characters, changing nothing', async () => {
    const relay = await v1Relay();
    await registerNode(relay, NODE_B);
    const before = await relay.store.snapshot();
    for (const node_label of [
      'x'.repeat(61),
      42,
      ['a'],
      { a: 1 },
      'tab\there',
      'line\nbreak',
      'bell\u0007',
      'rtl\u202eoverride',
      'zero\u200bwidth',
      'del\u007f',
      'c1\u0085',
    ]) {
      for (const url of ['/api/v1/relay/servers/register', '/api/v1/relay/servers/poll']) {
        const res = await relay.post(url, { server_public_key: url.endsWith('poll') ? NODE_B : NODE_A, capabilities: CAPS, node_label }, NODE_HEADERS);
        assert.equal(res.statusCode, 400, `${url} ${JSON.stringify(node_label)}`);
        assert.equal(res.json().error.code, 'invalid_node_label');
        assert.equal(res.json().code, 'invalid_node_label');
      }
    }
    assert.deepEqual(await relay.store.snapshot(), before, 'state unchanged');
    // The bounds themselves pass: 60 characters, blank is "no label".
    assert.equal(
      (await relay.post('/api/v1/relay/servers/register', { server_public_key: NODE_A, capabilities: CAPS, node_label: 'é'.repeat(60) }, NODE_HEADERS))
        .statusCode,
      200,
    );
    assert.equal(
      (await relay.post('/api/v1/relay/servers/register', { server_public_key: NODE_A, capabilities: CAPS, node_label: '   ' }, NODE_HEADERS)).statusCode,
      200,
    );
    await relay.app.close();
  });
});

describe('lifecycle log lines', () => {
  it('address prefixes: IPv4 /24, IPv6 /64, others as they are', () => {
    assert.equal(addressPrefix('203.0.113.77'), '203.0.113.0/24');
    assert.equal(addressPrefix('::ffff:203.0.113.77'), '203.0.113.0/24');
    assert.equal(addressPrefix('2001:db8:1:2::/64'), '2001:db8:1:2::/64');
    assert.equal(addressPrefix('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressPrefix('local'), 'local');
    assert.equal(addressPrefix(null), null);
  });

  it('v1: registered, back after a silence, unregistered, evicted; each with fingerprint, label, protocol and prefix, never the key', async () => {
    const r = await loggedRelay({ v1LeaseSeconds: 30 });
    const reg = await r.post('/api/v1/relay/servers/register', { server_public_key: NODE_A, capabilities: CAPS, node_label: 'attic' });
    let credential = reg.json().control_credential as string;
    // Routine renewals log nothing.
    r.clock.advance(5000);
    // (A node that has not polled yet gets a fresh credential on re-register: its first reply may have been lost.)
    credential =
      ((await r.post('/api/v1/relay/servers/register', { server_public_key: NODE_A, capabilities: CAPS, node_label: 'attic' })).json().control_credential as
        string | undefined) ?? credential;
    await r.post('/api/v1/relay/servers/poll', { server_public_key: NODE_A, control_credential: credential });
    assert.equal(r.nodeLines().length, 1);
    // Silent for 20 s of a 30 s lease, then a poll: "back after a silence".
    r.clock.advance(20_000);
    await r.post('/api/v1/relay/servers/poll', { server_public_key: NODE_A, control_credential: credential });
    const unreg = await r.post('/api/v1/relay/servers/unregister', { server_public_key: NODE_A, control_credential: credential });
    assert.equal(unreg.json().removed, true, unreg.body);
    // NODE_B registers from IPv6 and is evicted by the sweep once its lease lapses.
    await r.post('/api/v1/relay/servers/register', { server_public_key: NODE_B, capabilities: CAPS }, '2001:db8:aa:bb:1:2:3:4');
    r.clock.advance(31_000);
    await r.app.relay.v1.sweep();

    const fpA = keyFingerprint(NODE_A);
    const fpB = keyFingerprint(NODE_B);
    const got = r.nodeLines().map((l) => ({
      event: l.event,
      protocol: l.protocol,
      fingerprint: l.fingerprint,
      label: l.label,
      address: l.address,
      reason: l.reason,
      silent_seconds: l.silent_seconds,
      level: l.level,
    }));
    assert.deepEqual(got, [
      {
        event: 'node.registered',
        protocol: 'v1',
        fingerprint: fpA,
        label: 'attic',
        address: '198.51.100.0/24',
        reason: undefined,
        silent_seconds: undefined,
        level: 'info',
      },
      {
        event: 'node.renewed',
        protocol: 'v1',
        fingerprint: fpA,
        label: 'attic',
        address: '198.51.100.0/24',
        reason: undefined,
        silent_seconds: 20,
        level: 'info',
      },
      {
        event: 'node.unregistered',
        protocol: 'v1',
        fingerprint: fpA,
        label: 'attic',
        address: '198.51.100.0/24',
        reason: undefined,
        silent_seconds: undefined,
        level: 'info',
      },
      {
        event: 'node.registered',
        protocol: 'v1',
        fingerprint: fpB,
        label: null,
        address: '2001:db8:aa:bb::/64',
        reason: undefined,
        silent_seconds: undefined,
        level: 'info',
      },
      {
        event: 'node.evicted',
        protocol: 'v1',
        fingerprint: fpB,
        label: null,
        address: '2001:db8:aa:bb::/64',
        reason: 'stale_lease',
        silent_seconds: undefined,
        level: 'info',
      },
    ]);
    const all = r.raw.join('');
    for (const secret of [NODE_A, NODE_B, NODE_A.slice(0, 40), NODE_B.slice(20, 60), credential, '198.51.100.23', '2001:db8:aa:bb:1:2:3:4']) {
      assert.ok(!all.includes(secret), `the log never holds ${secret.slice(0, 12)}…`);
    }
    // And the counter: bounded labels (protocol, event).
    const metrics = (await r.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /tokenplace_relay_node_events_total\{protocol="v1",event="registered"\} 2/);
    assert.match(metrics, /tokenplace_relay_node_events_total\{protocol="v1",event="evicted"\} 1/);
    assert.doesNotMatch(metrics, new RegExp(fpA));
    await r.app.close();
  });

  it('legacy: a new /sink node is registered, a silent one expires; no label', async () => {
    const r = await loggedRelay();
    await r.post('/sink', { server_public_key: LEGACY_KEY });
    r.clock.advance(2000);
    await r.post('/sink', { server_public_key: LEGACY_KEY });
    r.clock.advance(31_000);
    await r.app.relay.legacy.sweep();
    const fp = keyFingerprint(LEGACY_KEY);
    assert.deepEqual(
      r.nodeLines().map((l) => [l.event, l.protocol, l.fingerprint, l.label, l.address, l.reason]),
      [
        ['node.registered', 'legacy', fp, null, '198.51.100.0/24', undefined],
        ['node.expired', 'legacy', fp, null, '198.51.100.0/24', 'silent'],
      ],
    );
    assert.ok(!r.raw.join('').includes(LEGACY_KEY));
    await r.app.close();
  });
});
