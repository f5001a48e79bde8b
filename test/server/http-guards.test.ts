// Over a real port with raw sockets (node:net) from several loopback addresses: Node's client
// errors answer catalogue JSON with a code, framework refusals too, open connections are shared
// per source with idle sockets closed first near the cap, a silent socket loses its slot, and
// held polls are shared per source.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { configWith, type Config } from '../../src/config.js';
import { createLogger } from '../../src/core/logger.js';
import { startServer, type RunningRelay } from '../../src/server.js';
import { closedWithin, openSocket, rawRequest, readAnswer } from '../support/raw-http.js';

function portOf(relay: RunningRelay): number {
  return Number(new URL(relay.url).port);
}

async function withRelay(overrides: Partial<Config>, fn: (relay: RunningRelay, port: number, logs: string[]) => Promise<void>): Promise<void> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const relay = await startServer({ config: configWith({ port: 0, logLevel: 'info', ...overrides }), logger: createLogger('info', sink) });
  try {
    await fn(relay, portOf(relay), logs);
  } finally {
    await relay.shutdown('test');
  }
}

const POST = (path: string, headers: string, body = ''): string => `POST ${path} HTTP/1.1\r\nHost: relay\r\n${headers}\r\n${body}`;

describe('HTTP errors before a route answer JSON with a stable code', () => {
  let relay: RunningRelay;
  let port: number;
  before(async () => {
    relay = await startServer({ config: configWith({ port: 0, logLevel: 'silent', maxBodyBytes: 2048 }), logger: createLogger('silent') });
    port = portOf(relay);
  });
  after(async () => relay.shutdown('test'));

  const cases: { name: string; raw: () => string; status: number; code: string }[] = [
    {
      name: 'a Content-Length that is not a number',
      raw: () => POST('/retrieve', 'Content-Type: application/json\r\nContent-Length: abc\r\n', '{}'),
      status: 400,
      code: 'malformed_http_request',
    },
    {
      name: 'Content-Length together with Transfer-Encoding',
      raw: () => POST('/retrieve', 'Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n', '2\r\n{}\r\n0\r\n\r\n'),
      status: 400,
      code: 'malformed_http_request',
    },
    { name: 'garbage instead of a request line', raw: () => 'NOT HTTP AT ALL\r\n\r\n', status: 400, code: 'malformed_http_request' },
    {
      name: 'headers over the 16 KiB limit',
      raw: () => `GET /livez HTTP/1.1\r\nHost: relay\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      status: 431,
      code: 'header_fields_too_large',
    },
    {
      name: 'malformed JSON',
      raw: () => POST('/retrieve', 'Content-Type: application/json\r\nContent-Length: 5\r\n', '{"a":'),
      status: 400,
      code: 'malformed_json',
    },
    {
      name: 'an unsupported media type',
      raw: () => POST('/retrieve', 'Content-Type: text/plain\r\nContent-Length: 2\r\n', 'hi'),
      status: 415,
      code: 'unsupported_media_type',
    },
    {
      name: 'a body over the limit',
      raw: () => POST('/retrieve', 'Content-Type: application/json\r\nContent-Length: 4000\r\n', `{"a":"${'x'.repeat(3990)}"}`),
      status: 413,
      code: 'body_too_large',
    },
    { name: 'an unknown route', raw: () => 'GET /no/such/route HTTP/1.1\r\nHost: relay\r\n\r\n', status: 404, code: 'route_not_found' },
    { name: 'a known route with another method', raw: () => 'DELETE /retrieve HTTP/1.1\r\nHost: relay\r\n\r\n', status: 405, code: 'method_not_allowed' },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.status} ${c.code}`, async () => {
      const answer = await rawRequest(port, c.raw(), '127.0.0.21');
      assert.equal(answer.status, c.status, answer.body);
      assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
      assert.equal(JSON.parse(answer.body).code, c.code, answer.body);
    });
  }

  it('the framing refusals are counted by kind', async () => {
    const text = await (await fetch(`${relay.url}/metrics`)).text();
    assert.match(text, /tokenplace_relay_http_refused_total\{kind="malformed_http_request"\} [3-9]/);
    assert.match(text, /tokenplace_relay_http_refused_total\{kind="header_fields_too_large"\} 1/);
  });
});

describe('silent and slow sockets', () => {
  it('a socket that sends part of its headers and then nothing answers 408 request_timeout and is closed soon after the header timeout', async () => {
    await withRelay({ headersTimeoutMs: 1000, requestTimeoutMs: 2000, connectionsCheckIntervalMs: 200 }, async (_relay, port) => {
      const socket = await openSocket(port, '127.0.0.22');
      const answer = readAnswer(socket, 6000);
      socket.write('GET /livez HTTP/1.1\r\nHost: rel');
      const got = await answer;
      assert.equal(got.status, 408);
      assert.equal(JSON.parse(got.body).code, 'request_timeout');
      assert.equal(await closedWithin(socket, 3000), true);
    });
  });

  it('a socket that never sends a byte loses its slot (the source can connect again)', async () => {
    await withRelay({ headersTimeoutMs: 1000, requestTimeoutMs: 2000, connectionsCheckIntervalMs: 200, connectionsPerSource: 1 }, async (relay, port) => {
      const silent = await openSocket(port, '127.0.0.23');
      assert.equal(await closedWithin(silent, 6000), true, 'the silent socket was closed');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(relay.guard.openFrom('127.0.0.23'), 0);
      const answer = await rawRequest(port, 'GET /livez HTTP/1.1\r\nHost: relay\r\n\r\n', '127.0.0.23');
      assert.equal(answer.status, 200);
    });
  });

  it('an idle keep-alive socket from a client is closed after the keep-alive time', async () => {
    await withRelay({ keepAliveTimeoutMs: 1000 }, async (_relay, port) => {
      const socket = await openSocket(port, '127.0.0.24');
      const answer = readAnswer(socket);
      socket.write('GET /livez HTTP/1.1\r\nHost: relay\r\n\r\n');
      assert.equal((await answer).status, 200);
      assert.equal(await closedWithin(socket, 5000), true);
    });
  });
});

describe('open connections per source and near the cap', () => {
  it('one source past its share is answered 429 source_connections_exceeded; another source connects', async () => {
    await withRelay({ connectionsPerSource: 3 }, async (relay, port) => {
      const held = await Promise.all([0, 1, 2].map(() => openSocket(port, '127.0.0.31')));
      try {
        const refused = await rawRequest(port, 'GET /livez HTTP/1.1\r\nHost: relay\r\n\r\n', '127.0.0.31');
        assert.equal(refused.status, 429);
        assert.ok(Number(refused.headers['retry-after']) >= 1);
        assert.equal(JSON.parse(refused.body).code, 'source_connections_exceeded');
        const other = await rawRequest(port, 'GET /livez HTTP/1.1\r\nHost: relay\r\n\r\n', '127.0.0.32');
        assert.equal(other.status, 200);
        assert.equal(relay.guard.openFrom('127.0.0.31'), 3);
      } finally {
        for (const socket of held) socket.destroy();
      }
      const text = await (await fetch(`${relay.url}/metrics`)).text();
      assert.match(text, /tokenplace_relay_http_refused_total\{kind="source_connections"\} 1/);
    });
  });

  it('near the cap the longest-idle socket is closed for a new client; a socket in a request is not; at the cap with nothing idle: 503 relay_connection_limit', async () => {
    // Cap 10, idle closing from 9 open sockets on.
    await withRelay(
      { maxConnections: 10, connectionsPerSource: 100, retrieveHoldMs: 4000, keepAliveTimeoutMs: 60_000, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 },
      async (relay, port) => {
        const sockets = [];
        // One held poll (busy for 4 s), then idle sockets from several sources.
        const busy = await openSocket(port, '127.0.0.40');
        const busyAnswer = readAnswer(busy, 8000);
        const body = JSON.stringify({ client_public_key: Buffer.from('nobody').toString('base64') });
        busy.write(POST('/retrieve', `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`, body));
        await new Promise((resolve) => setTimeout(resolve, 200));
        for (let i = 0; i < 8; i++) sockets.push(await openSocket(port, `127.0.0.${41 + i}`));
        assert.equal(relay.guard.open, 9);
        const first = sockets[0]!;
        const closedFirst = closedWithin(first, 3000);
        const honest = await rawRequest(port, 'GET /livez HTTP/1.1\r\nHost: relay\r\n\r\n', '127.0.0.60');
        assert.equal(honest.status, 200);
        assert.equal(await closedFirst, true, 'the longest-idle socket made room');
        assert.equal(busy.destroyed, false);
        assert.equal((await busyAnswer).status, 200, 'the held poll was answered, not cut');
        for (const socket of sockets) socket.destroy();
        const text = await (await fetch(`${relay.url}/metrics`)).text();
        assert.match(text, /tokenplace_relay_http_refused_total\{kind="idle_evicted"\} [1-9]/);
      },
    );
    await withRelay({ maxConnections: 1, connectionsPerSource: 100, retrieveHoldMs: 3000 }, async (_relay, port) => {
      const busy = await openSocket(port, '127.0.0.40');
      const body = JSON.stringify({ client_public_key: Buffer.from('nobody').toString('base64') });
      busy.write(POST('/retrieve', `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`, body));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const refused = await rawRequest(port, 'GET /livez HTTP/1.1\r\nHost: relay\r\n\r\n', '127.0.0.61');
      assert.equal(refused.status, 503);
      assert.equal(JSON.parse(refused.body).code, 'relay_connection_limit');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      busy.destroy();
    });
  });
});

describe('sockets from a trusted proxy', () => {
  it('are not limited per source and keep the longer proxy keep-alive; a client socket gets the short one', async () => {
    await withRelay(
      { trustedProxies: ['127.0.0.90/32'], connectionsPerSource: 1, keepAliveTimeoutMs: 1000, proxyKeepAliveTimeoutMs: 10_000 },
      async (_relay, port) => {
        const proxy = await Promise.all([0, 1, 2].map(() => openSocket(port, '127.0.0.90')));
        const client = await openSocket(port, '127.0.0.91');
        for (const socket of [...proxy, client]) {
          const answer = readAnswer(socket);
          socket.write('GET /livez HTTP/1.1\r\nHost: relay\r\n\r\n');
          assert.equal((await answer).status, 200);
        }
        assert.equal(await closedWithin(client, 4000), true, 'the client socket idled out');
        assert.equal(
          proxy.some((socket) => socket.destroyed || socket.readableEnded),
          false,
          'the proxy sockets are still open',
        );
        for (const socket of proxy) socket.destroy();
      },
    );
  });
});

describe('held polls per source', () => {
  it('past its share a source is refused 429 source_held_polls_exceeded in the route’s error shape; another source is held as usual', async () => {
    await withRelay({ heldPollsPerSource: 2, retrieveHoldMs: 3000 }, async (relay, port) => {
      const body = JSON.stringify({ client_public_key: Buffer.from('nobody').toString('base64') });
      const poll = POST('/retrieve', `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`, body);
      const held = await Promise.all([0, 1].map(() => openSocket(port, '127.0.0.71')));
      const heldAnswers = held.map((socket) => readAnswer(socket, 8000));
      for (const socket of held) socket.write(poll);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const refused = await rawRequest(port, poll, '127.0.0.71');
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      // /retrieve's peers expect a string `error`; the code is still there.
      assert.deepEqual(JSON.parse(refused.body), { error: 'Too many held polls from this source', code: 'source_held_polls_exceeded' });
      const other = await rawRequest(port, poll, '127.0.0.72');
      assert.equal(other.status, 200);
      assert.match(other.body, /No response available/);
      for (const answer of await Promise.all(heldAnswers)) assert.equal(answer.status, 200);
      // Released when the polls ended: the source may poll again.
      const again = await rawRequest(port, poll, '127.0.0.71');
      assert.equal(again.status, 200);
      for (const socket of held) socket.destroy();
      const text = await (await fetch(`${relay.url}/metrics`)).text();
      assert.match(text, /tokenplace_relay_http_refused_total\{kind="source_held_polls"\} 1/);
      assert.match(text, /tokenplace_relay_held_polls 0/);
    });
  });
});

describe('logs', () => {
  it('a 16 KB user agent is cut in the request log', async () => {
    await withRelay({}, async (_relay, port, logs) => {
      const agent = 'A'.repeat(12_000);
      const answer = await rawRequest(port, `GET /no-such-route HTTP/1.1\r\nHost: relay\r\nUser-Agent: ${agent}\r\n\r\n`, '127.0.0.81');
      assert.equal(answer.status, 404);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const line = logs.map((l) => JSON.parse(l)).find((l) => l.message === 'http.request' && l.http_status === 404);
      assert.ok(line !== undefined, logs.join(''));
      assert.ok(line.user_agent.length <= 201, `logged ${line.user_agent.length} chars`);
      assert.ok(line.user_agent.startsWith('AAAA'));
    });
  });
});
