// Rate limits in-process (app.inject with remoteAddress, fake clock): who is limited, on which
// budget, what a refusal looks like, and who is never limited.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { buildApp } from '../../src/app.js';
import { configWith, type Config } from '../../src/config.js';
import { createLogger } from '../../src/core/logger.js';
import type { BudgetName } from '../../src/limits/budgets.js';
import { CLIENT_KEY, NODE_KEY, faucetBody, testRelay, type TestRelay } from '../support/relay-app.js';
import { CAPS, CLIENT_A, CLIENT_B, NODE_A, NODE_HEADERS, registerNode, requestBody, v1Relay } from '../protocols/v1/support.js';

const PUBLIC_A = '203.0.113.10';
const PUBLIC_B = '203.0.113.20';

function budgets(overrides: Partial<Record<BudgetName, { perMinute: number; burst: number }>>): Pick<Config, 'rateLimits'> {
  return { rateLimits: { ...configWith().rateLimits, ...overrides } };
}

async function withRelay(overrides: Partial<Config>, fn: (relay: TestRelay) => Promise<void>): Promise<void> {
  const relay = await testRelay(overrides);
  try {
    await fn(relay);
  } finally {
    await relay.app.close();
  }
}

const json = { 'content-type': 'application/json' };
const retrieve = (relay: TestRelay, remoteAddress: string, clientKey = CLIENT_KEY) =>
  relay.inject({ method: 'POST', url: '/retrieve', remoteAddress, headers: json, payload: { client_public_key: clientKey } });
const sink = (relay: TestRelay, remoteAddress: string, nodeKey = NODE_KEY, token = 'node-token') =>
  relay.inject({ method: 'POST', url: '/sink', remoteAddress, headers: { ...json, 'x-relay-server-token': token }, payload: { server_public_key: nodeKey } });

async function metric(relay: TestRelay, series: string): Promise<number> {
  const text = (await relay.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('client budgets', () => {
  it('a flooding address gets 429 rate_limited with Retry-After and the route’s JSON error shape; another address does not', async () => {
    await withRelay(budgets({ client: { perMinute: 60, burst: 5 } }), async (relay) => {
      const flood = [];
      for (let i = 0; i < 20; i++) flood.push(await retrieve(relay, PUBLIC_A));
      assert.deepEqual(
        flood.map((r) => r.statusCode),
        [...Array(5).fill(200), ...Array(15).fill(429)],
      );
      const refused = flood[19]!;
      assert.equal(refused.headers['retry-after'], '1');
      assert.match(String(refused.headers['content-type']), /^application\/json/);
      assert.ok(refused.headers['x-request-id']);
      // /retrieve speaks the legacy string shape; the stable code is at the top level.
      assert.deepEqual(refused.json(), { error: 'Rate limit exceeded', code: 'rate_limited' });

      const honest = await retrieve(relay, PUBLIC_B, Buffer.from('another client').toString('base64'));
      assert.equal(honest.statusCode, 200);
      assert.equal(await metric(relay, 'tokenplace_relay_rate_limited_total{budget="client",reason="address"}'), 15);
    });
  });

  it('structured routes carry the budget and the wait in the error object; the bucket refills with time', async () => {
    await withRelay(budgets({ client: { perMinute: 6, burst: 1 } }), async (relay) => {
      assert.equal((await relay.inject({ method: 'GET', url: '/no-such-route', remoteAddress: PUBLIC_A })).statusCode, 404);
      const refused = await relay.inject({ method: 'GET', url: '/no-such-route', remoteAddress: PUBLIC_A });
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.headers['retry-after'], '10');
      assert.deepEqual(refused.json(), {
        error: { code: 'rate_limited', message: 'Rate limit exceeded', budget: 'client', retry_after_seconds: 10 },
        code: 'rate_limited',
      });
      relay.clock.advance(9_999);
      assert.equal((await relay.inject({ method: 'GET', url: '/no-such-route', remoteAddress: PUBLIC_A })).statusCode, 429);
      relay.clock.advance(1);
      assert.equal((await relay.inject({ method: 'GET', url: '/no-such-route', remoteAddress: PUBLIC_A })).statusCode, 404);
    });
  });

  it('one client key is limited per (key, source): one address polling it fast is refused, other addresses and keys are not', async () => {
    await withRelay(budgets({ client_key: { perMinute: 60, burst: 4 } }), async (relay) => {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await retrieve(relay, '198.51.100.1')).statusCode);
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
      assert.equal((await retrieve(relay, '198.51.100.1', Buffer.from('someone else').toString('base64'))).statusCode, 200);
      assert.equal((await retrieve(relay, '198.51.100.2')).statusCode, 200);
      assert.equal(await metric(relay, 'tokenplace_relay_rate_limited_total{budget="client_key",reason="client_key"}'), 2);
    });
  });

  it("a third party flooding a victim's client key exhausts only its own bucket: the victim is not refused", async () => {
    await withRelay(budgets({ client_key: { perMinute: 60, burst: 4 }, client: { perMinute: 6000, burst: 1000 } }), async (relay) => {
      const attacker: number[] = [];
      for (let i = 0; i < 20; i++) attacker.push((await retrieve(relay, '127.0.0.9')).statusCode);
      assert.equal(attacker.filter((s) => s === 429).length, 16, JSON.stringify(attacker));
      const victim: number[] = [];
      for (let i = 0; i < 4; i++) victim.push((await retrieve(relay, '127.0.0.5')).statusCode);
      assert.deepEqual(victim, [200, 200, 200, 200]);
    });
  });

  it('submitting has its own tighter budget; a refused submit leaves the store unchanged', async () => {
    await withRelay({ ...budgets({ submit: { perMinute: 60, burst: 2 } }), maxQueuePerClient: 100 }, async (relay) => {
      assert.equal((await sink(relay, '127.0.0.1', NODE_KEY, '')).statusCode, 200);
      for (let i = 0; i < 2; i++) {
        const ok = await relay.inject({ method: 'POST', url: '/faucet', remoteAddress: PUBLIC_A, headers: json, payload: faucetBody() });
        assert.equal(ok.statusCode, 200);
      }
      const before = await relay.store.snapshot();
      const refused = await relay.inject({ method: 'POST', url: '/faucet', remoteAddress: PUBLIC_A, headers: json, payload: faucetBody() });
      assert.equal(refused.statusCode, 429);
      assert.deepEqual(refused.json(), { error: { code: 429, message: 'Rate limit exceeded' }, code: 'rate_limited' });
      assert.deepEqual(await relay.store.snapshot(), before);
      // Polling from the same address is a different budget and still works.
      assert.equal((await retrieve(relay, PUBLIC_A)).statusCode, 200);
    });
  });
});

describe('compute-node budgets', () => {
  it('a node flooding /sink is limited by its key; a second node behind the same address is not', async () => {
    await withRelay({ ...budgets({ node: { perMinute: 60, burst: 3 } }), serverTokens: ['node-token'] }, async (relay) => {
      const other = Buffer.from('second node').toString('base64');
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await sink(relay, PUBLIC_A)).statusCode);
      assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
      assert.equal((await sink(relay, PUBLIC_A, other)).statusCode, 200);
      assert.equal(await metric(relay, 'tokenplace_relay_rate_limited_total{budget="node",reason="node_key"}'), 3);
    });
  });

  it("a third party holding the token and flooding a victim's node key exhausts only its own bucket: the victim is not refused", async () => {
    await withRelay({ ...budgets({ node: { perMinute: 60, burst: 3 } }), serverTokens: ['node-token'] }, async (relay) => {
      const attacker: number[] = [];
      for (let i = 0; i < 10; i++) attacker.push((await sink(relay, '127.0.0.9')).statusCode);
      assert.deepEqual(attacker, [200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
      const victim: number[] = [];
      for (let i = 0; i < 3; i++) victim.push((await sink(relay, '127.0.0.5')).statusCode);
      assert.deepEqual(victim, [200, 200, 200]);
    });
  });

  it('requests without the token spend the address budget only, never the node key’s', async () => {
    await withRelay(
      { ...budgets({ node: { perMinute: 60, burst: 2 }, node_address: { perMinute: 60, burst: 5 } }), serverTokens: ['node-token'] },
      async (relay) => {
        // An attacker replays the honest node's key with a wrong token.
        const statuses = [];
        for (let i = 0; i < 8; i++) statuses.push((await sink(relay, PUBLIC_A, NODE_KEY, 'guess')).statusCode);
        assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
        // The honest node, elsewhere, still has its whole node-key budget.
        assert.deepEqual([(await sink(relay, PUBLIC_B)).statusCode, (await sink(relay, PUBLIC_B)).statusCode], [200, 200]);
      },
    );
  });
});

describe('operations endpoints', () => {
  it('are never limited for loopback and cluster-internal addresses, even while a public address floods them', async () => {
    await withRelay(budgets({ ops: { perMinute: 60, burst: 3 } }), async (relay) => {
      const publicStatuses = [];
      for (let i = 0; i < 6; i++) publicStatuses.push((await relay.inject({ method: 'GET', url: '/livez', remoteAddress: PUBLIC_A })).statusCode);
      assert.deepEqual(publicStatuses, [200, 200, 200, 429, 429, 429]);
      for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', '172.16.9.9', '192.168.1.1', 'fd00::5']) {
        for (const url of ['/livez', '/healthz', '/metrics']) {
          for (let i = 0; i < 5; i++) {
            const res = await relay.inject({ method: 'GET', url, remoteAddress: address });
            assert.notEqual(res.statusCode, 429, `${url} from ${address}`);
          }
        }
      }
    });
  });

  it('the cluster-internal list is configurable, and trusted proxies are always on it', async () => {
    await withRelay(
      { ...budgets({ ops: { perMinute: 60, burst: 1 } }), clusterInternal: ['127.0.0.1/32'], trustedProxies: ['192.0.2.0/24'] },
      async (relay) => {
        const from = async (remoteAddress: string) => [
          (await relay.inject({ method: 'GET', url: '/livez', remoteAddress })).statusCode,
          (await relay.inject({ method: 'GET', url: '/livez', remoteAddress })).statusCode,
        ];
        assert.deepEqual(await from('10.1.2.3'), [200, 429]);
        assert.deepEqual(await from('192.0.2.7'), [200, 200]);
        assert.deepEqual(await from('127.0.0.1'), [200, 200]);
      },
    );
  });
});

describe('fairness and switches', () => {
  it('per-client queue cap end to end on /faucet: 429 client_queue_full with Retry-After; other clients still get through', async () => {
    await withRelay({ maxQueuePerClient: 2 }, async (relay) => {
      assert.equal((await sink(relay, '127.0.0.1', NODE_KEY, '')).statusCode, 200);
      const submit = (clientKey: string) =>
        relay.inject({ method: 'POST', url: '/faucet', remoteAddress: PUBLIC_A, headers: json, payload: faucetBody({ client_public_key: clientKey }) });
      assert.equal((await submit(CLIENT_KEY)).statusCode, 200);
      assert.equal((await submit(CLIENT_KEY)).statusCode, 200);
      const before = await relay.store.snapshot();
      const full = await submit(CLIENT_KEY);
      assert.equal(full.statusCode, 429);
      assert.equal(full.headers['retry-after'], '5');
      assert.equal(full.json().code, 'client_queue_full');
      assert.deepEqual(await relay.store.snapshot(), before);
      assert.equal((await submit(Buffer.from('another client').toString('base64'))).statusCode, 200);
    });
  });

  it('TOKENPLACE_RATE_LIMIT=0 turns every budget off', async () => {
    await withRelay({ ...budgets({ client: { perMinute: 1, burst: 1 } }), rateLimit: false }, async (relay) => {
      for (let i = 0; i < 10; i++) assert.equal((await retrieve(relay, PUBLIC_A)).statusCode, 200);
    });
    assert.equal(configWith({}, { TOKENPLACE_RATE_LIMIT: '0' }).rateLimit, false);
    assert.deepEqual(configWith({}, { TOKENPLACE_RATE_LIMIT_SUBMIT_PER_MINUTE: '30', TOKENPLACE_RATE_LIMIT_SUBMIT_BURST: '4' }).rateLimits.submit, {
      perMinute: 30,
      burst: 4,
    });
    assert.throws(() => configWith({}, { TOKENPLACE_RATE_LIMIT_NODE_BURST: '0' }), /TOKENPLACE_RATE_LIMIT_NODE_BURST/);
    assert.throws(() => configWith({}, { TOKENPLACE_RATE_LIMIT_CLIENT_PER_MINUTE: 'lots' }), /TOKENPLACE_RATE_LIMIT_CLIENT_PER_MINUTE/);
  });

  it('logs and metrics of a flood carry no keys and no addresses', async () => {
    let logged = '';
    const sinkStream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logged += chunk.toString();
        cb();
      },
    });
    const config = configWith({
      ...budgets({ client: { perMinute: 60, burst: 2 }, client_key: { perMinute: 60, burst: 2 } }),
      sinkHoldMs: 0,
      retrieveHoldMs: 0,
      logLevel: 'debug',
    });
    const app = await buildApp({ config, logger: createLogger('debug', sinkStream) });
    try {
      for (let i = 0; i < 6; i++) {
        await app.inject({ method: 'POST', url: '/retrieve', remoteAddress: PUBLIC_A, headers: json, payload: { client_public_key: CLIENT_KEY } });
      }
      const metrics = (await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body;
      assert.match(logged, /"http_status":429/);
      for (const secret of [CLIENT_KEY, CLIENT_KEY.slice(0, 24), PUBLIC_A]) {
        assert.ok(!logged.includes(secret), `log contains ${secret}`);
        assert.ok(!metrics.includes(secret), `metrics contain ${secret}`);
      }
    } finally {
      await app.close();
    }
  });
});

describe('API v1 routes', () => {
  it('per-client queue cap on /api/v1/relay/requests: 429 client_queue_full, other clients still admitted', async () => {
    const relay = await v1Relay({ maxQueuePerClient: 2 });
    try {
      await registerNode(relay);
      const admit = (clientKey: string, id: string) =>
        relay.inject({
          method: 'POST',
          url: '/api/v1/relay/requests',
          remoteAddress: PUBLIC_A,
          headers: json,
          payload: requestBody({ client_public_key: clientKey, request_id: id }),
        });
      assert.equal((await admit(CLIENT_A, 'r1')).statusCode, 200);
      assert.equal((await admit(CLIENT_A, 'r2')).statusCode, 200);
      const before = await relay.store.snapshot();
      const full = await admit(CLIENT_A, 'r3');
      assert.equal(full.statusCode, 429);
      assert.ok(Number(full.headers['retry-after']) >= 1);
      assert.equal(full.json().code, 'client_queue_full');
      assert.deepEqual(await relay.store.snapshot(), before);
      assert.equal((await admit(CLIENT_B, 'r4')).statusCode, 200);
    } finally {
      await relay.app.close();
    }
  });

  it('v1 client polls and node polls spend the client and node budgets by their route names', async () => {
    const relay = await v1Relay({ ...budgets({ client: { perMinute: 60, burst: 3 }, node: { perMinute: 60, burst: 2 } }) });
    try {
      const polls = [];
      for (let i = 0; i < 5; i++) {
        polls.push(
          (
            await relay.inject({
              method: 'POST',
              url: '/api/v1/relay/responses/retrieve',
              remoteAddress: PUBLIC_A,
              headers: json,
              payload: { client_public_key: CLIENT_A },
            })
          ).statusCode,
        );
      }
      assert.deepEqual(polls.slice(3), [429, 429]);
      assert.ok(polls.slice(0, 3).every((s) => s !== 429));
      const nodePolls = [];
      for (let i = 0; i < 4; i++) {
        nodePolls.push(
          (
            await relay.inject({
              method: 'POST',
              url: '/api/v1/relay/servers/register',
              remoteAddress: PUBLIC_B,
              headers: { ...json, ...NODE_HEADERS },
              payload: { server_public_key: NODE_A, capabilities: CAPS },
            })
          ).statusCode,
        );
      }
      assert.deepEqual(nodePolls, [200, 200, 429, 429]);
      assert.equal(await metric(relay, 'tokenplace_relay_rate_limited_total{budget="node",reason="node_key"}'), 2);
    } finally {
      await relay.app.close();
    }
  });
});
