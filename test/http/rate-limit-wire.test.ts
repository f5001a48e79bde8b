// Rate limits over a real port with the default budgets: while one address floods, and while one
// client key is flooded from several addresses, an honest client (real encrypted turns at the
// upstream browser's 500 ms cadence) and a real compute node (the demo node, long-polling
// /sink) see no 429, and the operations endpoints keep answering.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { honestTurn, LocalHttp, startFlood } from '../../bench/abuse/peers.js';
import { configWith } from '../../src/config.js';
import { generateKeyPair } from '../../src/crypto/index.js';
import { createLogger } from '../../src/core/logger.js';
import { startDemoNode, type DemoNode } from '../../src/node/demo-node.js';
import { startServer, type RunningRelay } from '../../src/server.js';

// Each scenario floods from its own addresses, so one scenario's empty buckets do not leak into the next.
const FLOODER = '127.0.0.2';
const SUBMIT_FLOODER = '127.0.0.8';
const HONEST = '127.0.0.3';
const KEY_FLOODERS = ['127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];

describe('rate limits over a real port, default budgets', () => {
  let relay: RunningRelay;
  let node: DemoNode;
  before(async () => {
    relay = await startServer({ config: configWith({ port: 0, logLevel: 'silent' }), logger: createLogger('silent') });
    node = await startDemoNode({ relayUrl: relay.url, protocol: 'legacy', logger: pino({ level: 'silent' }) });
    await node.ready;
  });
  after(async () => {
    await node.stop();
    await relay.shutdown('test');
  });

  for (const scenario of [
    {
      name: 'one address floods /next_server',
      addresses: [FLOODER],
      target: 'next_server' as const,
      concurrency: 16,
      expect: /tokenplace_relay_rate_limited_total\{budget="client"/,
    },
    {
      name: 'one address floods /faucet',
      addresses: [SUBMIT_FLOODER],
      target: 'faucet' as const,
      concurrency: 16,
      expect: /tokenplace_relay_rate_limited_total\{budget="submit"/,
    },
    // Polls for a key with no answer are held open, so flooding them takes many connections;
    // past its held-poll share each address is refused (its own client-key bucket is its own).
    {
      name: 'one client key is flooded on /retrieve from four addresses',
      addresses: KEY_FLOODERS,
      target: 'retrieve' as const,
      concurrency: 200,
      expect: /tokenplace_relay_http_refused_total\{kind="source_held_polls"\} [1-9]/,
    },
  ]) {
    it(`${scenario.name}: the flood is limited; the honest client, the node and the probes are not`, async () => {
      const floodKey = (await generateKeyPair()).publicKeyWire;
      const flood = startFlood({
        relayUrl: relay.url,
        addresses: scenario.addresses,
        target: scenario.target,
        concurrency: scenario.concurrency,
        clientKey: floodKey,
        maxMs: 20_000,
        maxRequests: 50_000,
      });
      const honest = new LocalHttp(HONEST);
      const probe = new LocalHttp('127.0.0.1');
      const keys = await generateKeyPair();
      const answeredBefore = node.answered;
      try {
        const statuses: number[] = [];
        const probes: number[] = [];
        for (let turn = 0; turn < 3; turn++) {
          const result = await honestTurn(honest, relay.url, keys, `turn ${turn}`);
          statuses.push(...result.statuses);
          assert.ok(Array.isArray(result.reply), 'the reply decrypts to a chat history');
          for (const path of ['/livez', '/healthz', '/metrics']) probes.push((await probe.request('GET', `${relay.url}${path}`)).status);
        }
        const stats = await flood.stop();
        assert.deepEqual([...new Set(statuses)].sort(), [200], `honest client saw ${JSON.stringify(statuses)}`);
        assert.deepEqual([...new Set(probes)], [200]);
        assert.ok((stats.byStatus['429'] ?? 0) > 0, `flood was never limited: ${JSON.stringify(stats)}`);
        assert.ok(node.answered >= answeredBefore + 3, 'the node answered every honest turn');
        const metrics = (await probe.request('GET', `${relay.url}/metrics`)).body;
        assert.equal(metrics, null); // text exposition, not JSON
        const text = await (await fetch(`${relay.url}/metrics`)).text();
        assert.match(text, scenario.expect);
        const limited = text
          .split('\n')
          .filter((l) => l.startsWith('tokenplace_relay_rate_limited_total'))
          .join('\n');
        // The node's own budgets were never touched.
        assert.doesNotMatch(limited, /budget="node/, limited);
      } finally {
        await flood.stop();
        honest.close();
        probe.close();
      }
    });
  }
});
