// The caller-gone signal: over a bare node:http server, what CallerGone reports; over the relay's
// real port, that a node whose held /sink vanished claims nothing (the request stays queued for
// the node's next poll) and its held-poll share is given back.
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { CallerGone } from '../../src/http/caller-gone.js';
import { configWith } from '../../src/config.js';
import { createLogger } from '../../src/core/logger.js';
import { startServer } from '../../src/server.js';
import { NODE_KEY, faucetBody } from '../support/relay-app.js';
import { openSocket } from '../support/raw-http.js';

interface Seen {
  gone: CallerGone;
  fired: number;
  removedFired: number;
  closed: number;
  res: ServerResponse;
}

async function withServer(run: (port: number, seen: Promise<Seen>) => Promise<void>): Promise<void> {
  let handOver!: (seen: Seen) => void;
  const seen = new Promise<Seen>((resolve) => (handOver = resolve));
  const server = createServer((_req, res) => {
    const state = { fired: 0, removedFired: 0, closed: 0, res } as Seen;
    state.gone = new CallerGone(res, () => (state.closed += 1));
    state.gone.addEventListener('abort', { handleEvent: () => (state.fired += 1) });
    const removed = { handleEvent: () => (state.removedFired += 1) };
    state.gone.addEventListener('abort', removed);
    state.gone.removeEventListener('abort', removed);
    handOver(state);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await run((server.address() as AddressInfo).port, seen);
  } finally {
    server.close();
  }
}

describe('CallerGone', () => {
  it('aborts once, to the listeners still registered, when the peer closes before the answer', async () => {
    await withServer(async (port, seen) => {
      const socket = await openSocket(port);
      socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
      const state = await seen;
      assert.equal(state.gone.aborted, false);
      socket.destroy();
      await once(state.res, 'close');
      assert.equal(state.gone.aborted, true);
      assert.deepEqual([state.fired, state.removedFired, state.closed], [1, 0, 1]);
      // A listener added after the abort is never called: the caller checks `aborted` first.
      state.gone.addEventListener('abort', { handleEvent: () => (state.fired += 1) });
      assert.equal(state.fired, 1);
    });
  });

  it('does not abort when the response was written in full; the close callback still runs', async () => {
    await withServer(async (port, seen) => {
      const answered = fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
      const state = await seen;
      state.res.end('ok');
      assert.equal(await answered, 'ok');
      if (state.closed === 0) await once(state.res, 'close');
      assert.equal(state.gone.aborted, false);
      assert.deepEqual([state.fired, state.closed], [0, 1]);
    });
  });
});

describe('a held /sink whose node went away', () => {
  it('claims nothing: the request waits for the next poll, and the share is released', async () => {
    const relay = await startServer({ config: configWith({ port: 0, logLevel: 'silent', sinkHoldMs: 4000 }), logger: createLogger('silent') });
    try {
      const port = Number(new URL(relay.url).port);
      const heldPolls = async (): Promise<number> => {
        const text = await (await fetch(`${relay.url}/metrics`)).text();
        return Number(/^tokenplace_relay_held_polls (\S+)$/m.exec(text)?.[1]);
      };
      const body = JSON.stringify({ server_public_key: NODE_KEY });
      const socket = await openSocket(port);
      socket.write(`POST /sink HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      for (let i = 0; i < 100 && (await heldPolls()) !== 1; i += 1) await sleep(20);
      assert.equal(await heldPolls(), 1);
      socket.destroy();
      for (let i = 0; i < 100 && (await heldPolls()) !== 0; i += 1) await sleep(20);
      assert.equal(await heldPolls(), 0, 'the vanished poll gave its share back');

      const queued = await fetch(`${relay.url}/faucet`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(faucetBody()),
      });
      assert.equal(queued.status, 200, await queued.clone().text());
      const next = await fetch(`${relay.url}/sink`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(next.status, 200);
      const answer = (await next.json()) as { client_public_key?: string };
      assert.equal(answer.client_public_key, faucetBody().client_public_key, 'the next poll got the request');
    } finally {
      await relay.shutdown('test');
    }
  });
});
