// The request log of an idle relay: long-polls answered with "nothing yet" are the normal rhythm
// (every node and waiting client makes one every few seconds) and go to debug; errors and real
// work stay at info. And however many polls are held, the drain signal carries one listener.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { configWith, type Config } from '../../src/config.js';
import { Drain } from '../../src/core/drain.js';
import { heldOn } from '../../src/core/hold.js';
import { createLogger } from '../../src/core/logger.js';
import { CAPS } from '../support/v1-capabilities.js';

const key = (name: string): string => Buffer.from(`-----BEGIN PUBLIC KEY-----\n${name}\n-----END PUBLIC KEY-----\n`).toString('base64');
const NODE = key('NODE');
const CLIENT = key('CLIENT');
const V1_NODE = key('V1-NODE');
const V1_CLIENT = key('V1-CLIENT');
const PROTOCOL = 'tokenplace_api_v1_relay_e2ee';

interface Logged {
  app: FastifyInstance;
  drain: Drain;
  lines(): Record<string, unknown>[];
  post(url: string, payload: unknown): Promise<{ statusCode: number; body: string }>;
}

async function relayLoggingAt(level: 'info' | 'debug', overrides: Partial<Config> = {}): Promise<Logged> {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString());
      cb();
    },
  });
  const drain = new Drain();
  const config = configWith({ sinkHoldMs: 30, retrieveHoldMs: 30, v1PollWaitSeconds: 0, logLevel: level, ...overrides });
  const app = await buildApp({ config, drain, logger: createLogger(level, sink) });
  await app.ready();
  return {
    app,
    drain,
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    post: (url, payload) => app.inject({ method: 'POST', url, payload: payload as object, headers: { 'content-type': 'application/json' } }),
  };
}

const requestLines = (relay: Logged, route: string) => relay.lines().filter((l) => l.message === 'http.request' && l.http_route === route);

/** One idle answer of each kind: empty /sink hold, empty /retrieve, empty API v1 poll, pending API v1 retrieve. */
async function idleRound(relay: Logged): Promise<void> {
  const sink = await relay.post('/sink', { server_public_key: NODE });
  assert.equal(sink.statusCode, 200);
  assert.equal(JSON.parse(sink.body).client_public_key, undefined);
  const retrieve = await relay.post('/retrieve', { client_public_key: CLIENT });
  assert.match(retrieve.body, /No response available/);
  assert.equal((await relay.post('/api/v1/relay/servers/register', { server_public_key: V1_NODE, capabilities: CAPS })).statusCode, 200);
  const poll = await relay.post('/api/v1/relay/servers/poll', { server_public_key: V1_NODE, capabilities: CAPS });
  assert.equal(JSON.parse(poll.body).message, 'No requests available');
  const admitted = await relay.post('/api/v1/relay/requests', {
    server_public_key: V1_NODE,
    client_public_key: V1_CLIENT,
    request_id: 'req-1',
    protocol: PROTOCOL,
    version: 1,
    ciphertext: 'Y2lw',
    cipherkey: 'a2V5',
    iv: 'aXZpdml2',
    cancel_token: 'cancel-1',
  });
  assert.equal(admitted.statusCode, 200, admitted.body);
  const pending = await relay.post('/api/v1/relay/responses/retrieve', { client_public_key: V1_CLIENT, request_id: 'req-1' });
  assert.equal(pending.statusCode, 202);
}

const IDLE_ROUTES = ['sink', 'retrieve', 'v1_servers_poll', 'v1_responses_retrieve'];

describe('request log levels', () => {
  it('at info: idle poll answers are not logged; errors and real work are', async () => {
    const relay = await relayLoggingAt('info');
    try {
      await idleRound(relay);
      for (const route of IDLE_ROUTES) assert.deepEqual(requestLines(relay, route), [], `${route} idle answer logged at info`);
      assert.equal(requestLines(relay, 'v1_requests').length, 1, 'admission is real work');
      assert.equal(requestLines(relay, 'v1_servers_register')[0]?.level, 'info');

      // Real work on the same routes: a request handed to the node, its answer fetched.
      assert.equal(
        (await relay.post('/faucet', { server_public_key: NODE, client_public_key: CLIENT, chat_history: 'Y2lw', cipherkey: 'a2V5', iv: 'aXY=' })).statusCode,
        200,
      );
      const work = await relay.post('/sink', { server_public_key: NODE });
      assert.equal(JSON.parse(work.body).client_public_key, CLIENT);
      assert.equal((await relay.post('/source', { client_public_key: CLIENT, chat_history: 'YW5z', cipherkey: 'a2V5', iv: 'aXY=' })).statusCode, 200);
      assert.match((await relay.post('/retrieve', { client_public_key: CLIENT })).body, /chat_history/);
      const v1Work = await relay.post('/api/v1/relay/servers/poll', { server_public_key: V1_NODE, capabilities: CAPS });
      assert.equal(JSON.parse(v1Work.body).request_id, 'req-1');
      assert.deepEqual(
        requestLines(relay, 'sink').map((l) => [l.level, l.http_status]),
        [['info', 200]],
      );
      assert.deepEqual(
        requestLines(relay, 'retrieve').map((l) => [l.level, l.http_status]),
        [['info', 200]],
      );
      assert.deepEqual(
        requestLines(relay, 'v1_servers_poll').map((l) => [l.level, l.http_status]),
        [['info', 200]],
      );

      // A refused poll is an error, logged at info whatever the route.
      assert.equal((await relay.post('/sink', { server_public_key: 42 })).statusCode, 400);
      assert.deepEqual(
        requestLines(relay, 'sink').map((l) => l.http_status),
        [200, 400],
      );
      for (const line of relay.lines()) assert.equal(line.idle, undefined);
    } finally {
      await relay.app.close();
    }
  });

  it('at debug: idle poll answers are logged at debug, marked idle', async () => {
    const relay = await relayLoggingAt('debug');
    try {
      await idleRound(relay);
      for (const route of IDLE_ROUTES) {
        const lines = requestLines(relay, route);
        assert.equal(lines.length, 1, route);
        assert.equal(lines[0]!.level, 'debug', route);
        assert.equal(lines[0]!.idle, true, route);
      }
      assert.equal(requestLines(relay, 'v1_requests')[0]?.level, 'info');
    } finally {
      await relay.app.close();
    }
  });
});

describe('held polls and the drain signal', () => {
  it('20 held polls share one abort listener on the drain signal; a drain answers them all and leaves none', async () => {
    const relay = await relayLoggingAt('info', { sinkHoldMs: 8000, maxNodesPerSource: 100, heldPollsPerSource: 100 });
    try {
      const listenersBefore = getEventListeners(relay.drain.signal, 'abort').length;
      const N = 20;
      const started = Date.now();
      const polls = Array.from({ length: N }, (_, i) => relay.post('/sink', { server_public_key: key(`HELD-${i}`) }));
      while (heldOn(relay.drain.signal) < N) {
        assert.ok(Date.now() - started < 5000, `only ${heldOn(relay.drain.signal)} holds registered`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // One fan-out listener at most was added, not one per hold.
      assert.ok(getEventListeners(relay.drain.signal, 'abort').length <= listenersBefore + 1);
      relay.drain.start();
      const answers = await Promise.all(polls);
      assert.ok(Date.now() - started < 8000, 'the drain ended the holds, not their hold time');
      for (const a of answers) assert.equal(a.statusCode, 200);
      assert.equal(heldOn(relay.drain.signal), 0);
    } finally {
      await relay.app.close();
    }
  });

  it('a hold that ends by itself leaves the fan-out', async () => {
    const relay = await relayLoggingAt('info', { sinkHoldMs: 20 });
    try {
      await Promise.all([relay.post('/sink', { server_public_key: key('A') }), relay.post('/sink', { server_public_key: key('B') })]);
      assert.equal(heldOn(relay.drain.signal), 0);
    } finally {
      await relay.app.close();
    }
  });
});
