// Exactly-once delivery under concurrency, over a real port with long-polls on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configWith } from '../../../src/config.js';
import { createLogger } from '../../../src/core/logger.js';
import { startServer, type RunningRelay } from '../../../src/server.js';

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, `${url} → ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

describe('concurrency over a real port', () => {
  let relay: RunningRelay;
  before(async () => {
    // 1,000 clients and 8 nodes from one loopback address is a flood by design: limits off here
    // (test/http/rate-limit*.test.ts covers them), and so are the per-source shares
    // (test/store/contract.ts covers them) and the per-source connection and held-poll caps
    // (test/server/http-guards.test.ts covers them).
    const config = configWith({
      port: 0,
      sinkHoldMs: 2000,
      retrieveHoldMs: 2000,
      maxQueuePerNode: 2000,
      maxQueuedTotal: 5000,
      maxResponses: 5000,
      logLevel: 'silent',
      rateLimit: false,
      maxQueuePerNodePerSource: 2000,
      maxQueuedPerSource: 5000,
      maxResponsesPerSource: 5000,
      maxStoredBytesPerSource: 256 * 1024 * 1024,
      connectionsPerSource: 100_000,
      heldPollsPerSource: 100_000,
    });
    relay = await startServer({ config, logger: createLogger('silent') });
  });
  after(async () => relay.shutdown('test'));

  it('1,000 concurrent faucet→sink→source→retrieve cycles across 8 nodes: every response exactly once', async () => {
    const base = relay.url;
    const nodes = Array.from({ length: 8 }, (_, i) => `node-${i}`);
    for (const node of nodes) await post(`${base}/sink`, { server_public_key: node });

    const claimed: string[] = [];
    let stop = false;
    const nodeLoop = async (node: string): Promise<void> => {
      while (!stop) {
        const work = await post(`${base}/sink`, { server_public_key: node, max_batch_size: 4 });
        const batch = (work.batch as Record<string, string>[] | undefined) ?? [];
        for (const item of batch) {
          claimed.push(item.chat_history!);
          await post(`${base}/source`, { client_public_key: item.client_public_key, chat_history: `reply:${item.chat_history}`, cipherkey: 'k', iv: 'i' });
        }
      }
    };
    const loops = nodes.map(nodeLoop);

    const client = async (i: number): Promise<string> => {
      const key = `client-${i}`;
      await post(`${base}/faucet`, { server_public_key: nodes[i % nodes.length], client_public_key: key, chat_history: `req-${i}`, cipherkey: 'k', iv: 'i' });
      for (let attempt = 0; attempt < 30; attempt += 1) {
        const got = await post(`${base}/retrieve`, { client_public_key: key });
        if (typeof got.chat_history === 'string') return got.chat_history;
        assert.equal(got.error, 'No response available for the given public key');
      }
      throw new Error(`${key} never got its response`);
    };
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => client(i)));
    stop = true;
    await Promise.all(loops);

    replies.forEach((reply, i) => assert.equal(reply, `reply:req-${i}`));
    assert.equal(claimed.length, 1000, 'no request handed out twice');
    assert.equal(new Set(claimed).size, 1000);
  });

  it('parallel /sink polls for one node never hand out the same request twice or lose one', async () => {
    const base = relay.url;
    await post(`${base}/sink`, { server_public_key: 'busy-node' });
    for (let i = 0; i < 300; i += 1) {
      await post(`${base}/faucet`, { server_public_key: 'busy-node', client_public_key: `c-${i}`, chat_history: `job-${i}`, cipherkey: 'k', iv: 'i' });
    }
    const seen: string[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        for (;;) {
          const work = await post(`${base}/sink`, { server_public_key: 'busy-node', max_batch_size: 3 });
          const batch = (work.batch as Record<string, string>[]) ?? [];
          if (batch.length === 0) return;
          for (const item of batch) seen.push(item.chat_history!);
        }
      }),
    );
    assert.equal(seen.length, 300);
    assert.equal(new Set(seen).size, 300);
  });

  it('/retrieve pops atomically: parallel retrieves for one key deliver the response once', async () => {
    const base = relay.url;
    // An answer is accepted only for a claimed request: queue and claim one first.
    await post(`${base}/sink`, { server_public_key: 'popper' });
    await post(`${base}/faucet`, { server_public_key: 'popper', client_public_key: 'popped', chat_history: 'job', cipherkey: 'k', iv: 'i' });
    await post(`${base}/sink`, { server_public_key: 'popper' });
    await post(`${base}/source`, { client_public_key: 'popped', chat_history: 'only-once', cipherkey: 'k', iv: 'i' });
    const results = await Promise.all(Array.from({ length: 20 }, () => post(`${base}/retrieve`, { client_public_key: 'popped' })));
    assert.equal(results.filter((r) => r.chat_history === 'only-once').length, 1);
  });
});
