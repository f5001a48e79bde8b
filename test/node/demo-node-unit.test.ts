import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Backoff } from '../../src/node/backoff.js';
import { demoReply, demoReplyChunks, isChatHistory } from '../../src/node/model.js';
import { parseNodeArgs, runNodeCommand } from '../../src/node/node-command.js';
import { startDemoNode } from '../../src/node/demo-node.js';
import { decryptJson, encryptJson, generateKeyPair } from '../../src/crypto/index.js';
import { captureLogger, waitFor } from './harness.js';

test('backoff grows exponentially with jitter inside [ceiling/2, ceiling] and is capped', () => {
  const lo = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0 });
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map(() => lo.next()),
    [50, 100, 200, 400, 500, 500],
  );
  const hi = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => hi.next()),
    [100, 200, 400, 800, 1000],
  );
  hi.reset();
  assert.equal(hi.attempts, 0);
  assert.equal(hi.next(), 100);
  const spread = new Set(Array.from({ length: 20 }, () => new Backoff({ baseMs: 1000 }).next()));
  assert.ok(spread.size > 1, 'jitter spreads the delays');
});

test('the model stand-in is deterministic and follows the conversation', () => {
  const h1 = [{ role: 'user', content: 'Hello   there\nfriend' }];
  assert.equal(demoReply(h1), demoReply(h1));
  assert.match(demoReply(h1), /^Demo node, turn 1\. You said: “Hello there friend” \(3 words\)\./);
  const h2 = [...h1, { role: 'assistant', content: demoReply(h1) }, { role: 'user', content: 'again' }];
  assert.match(demoReply(h2), /turn 2\. You said: “again” \(1 word\)\. Your first message was: “Hello there friend”/);
  assert.ok(demoReply([{ role: 'user', content: 'x'.repeat(500) }]).includes('…'));
  const chunks = demoReplyChunks(h2, 4);
  assert.ok(chunks.length >= 3);
  assert.equal(chunks.join(''), demoReply(h2));
  assert.equal(isChatHistory([]), false);
  assert.equal(isChatHistory([{ role: 'user' }]), false);
  assert.equal(isChatHistory(h2), true);
});

test('node command arguments', async () => {
  assert.deepEqual(parseNodeArgs(['--relay', 'http://r:1', '--token', ' t ', '--protocol', 'legacy'], {}), {
    protocol: 'legacy',
    help: false,
    relay: 'http://r:1',
    token: 't',
    tokenDelayMs: 30,
    sign: true,
    stream: true,
  });
  const streaming = parseNodeArgs(['--token-delay-ms', '5', '--no-sign', '--no-stream'], {});
  assert.deepEqual([streaming.tokenDelayMs, streaming.sign, streaming.stream], [5, false, false]);
  assert.equal(parseNodeArgs([], { TOKENPLACE_DEMO_TOKEN_DELAY_MS: '0' }).tokenDelayMs, 0);
  assert.equal(parseNodeArgs(['--token-delay-ms=7'], { TOKENPLACE_DEMO_TOKEN_DELAY_MS: '0' }).tokenDelayMs, 7, 'the flag wins over the environment');
  assert.throws(() => parseNodeArgs(['--token-delay-ms', '-1'], {}), /whole number of milliseconds/);
  assert.throws(() => parseNodeArgs([], { TOKENPLACE_DEMO_TOKEN_DELAY_MS: 'fast' }), /TOKENPLACE_DEMO_TOKEN_DELAY_MS must be/);
  assert.equal(parseNodeArgs(['node', '--relay=http://x'], {}).relay, 'http://x');
  assert.equal(parseNodeArgs([], { TOKENPLACE_RELAY_URL: 'http://env', TOKEN_PLACE_RELAY_SERVER_TOKEN: 'tok' }).token, 'tok');
  assert.equal(parseNodeArgs([], {}).protocol, 'v1');
  assert.throws(() => parseNodeArgs(['--protocol', 'v2'], {}), /legacy or v1/);
  assert.throws(() => parseNodeArgs(['--bogus'], {}), /unknown argument/);
  assert.throws(() => parseNodeArgs(['--relay'], {}), /needs a value/);
  const saved = process.env.TOKENPLACE_RELAY_URL;
  delete process.env.TOKENPLACE_RELAY_URL;
  // Saved to be put back as it was, never called detached.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const write = process.stderr.write;
  process.stderr.write = () => true;
  try {
    assert.equal(await runNodeCommand([]), 2);
    assert.equal(await runNodeCommand(['--relay', 'ftp://x']), 2);
  } finally {
    process.stderr.write = write;
    if (saved !== undefined) process.env.TOKENPLACE_RELAY_URL = saved;
  }
});

/** A fake relay whose /sink answers are scripted, to see how the node copes with bad ones. */
async function scriptedRelay(script: ((req: IncomingMessage, body: any, res: ServerResponse) => void)[]) {
  const seen: { url: string; body: any; token: string | undefined }[] = [];
  const srv = createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      let body: any;
      try {
        body = JSON.parse(data);
      } catch {
        body = undefined;
      }
      seen.push({ url: req.url ?? '', body, token: req.headers['x-relay-server-token'] as string | undefined });
      const step = script[Math.min(seen.length - 1, script.length - 1)]!;
      step(req, body, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const addr = srv.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, seen, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

const json = (status: number, body: unknown) => (_req: IncomingMessage, _b: unknown, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

test('bad relay answers are logged and retried with backoff, then the node recovers', async (t) => {
  const client = await generateKeyPair();
  let nodeKey = '';
  let delivered: any;
  const work = (_req: IncomingMessage, body: any, res: ServerResponse) => {
    nodeKey = body.server_public_key;
    const enc = encryptJson([{ role: 'user', content: 'hidden text' }], nodeKey);
    json(200, { next_ping_in_x_seconds: 0, client_public_key: client.publicKeyWire, chat_history: enc.ciphertext, cipherkey: enc.cipherkey, iv: enc.iv })(
      _req,
      body,
      res,
    );
  };
  const relay = await scriptedRelay([
    (_q, _b, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<html>Internal Server Error</html>');
    },
    (_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('not json');
    },
    json(200, { no_ping: true }),
    json(401, { error: { code: 401, message: 'Missing or invalid relay server token' } }),
    work,
    (req, body, res) => {
      if (req.url === '/source') delivered = body;
      json(200, { next_ping_in_x_seconds: 0.05 })(req, body, res);
    },
  ]);
  t.after(() => relay.close());
  const logs = captureLogger();
  const node = await startDemoNode({ relayUrl: relay.url, protocol: 'legacy', token: 'tkn', logger: logs.logger });
  t.after(() => node.stop());
  await waitFor('an answer posted to /source', async () => delivered, 30_000);

  const failures = logs.lines().filter((l) => typeof l.event === 'string' && l.event.startsWith('relay.bad'));
  assert.deepEqual(
    failures.map((l) => [l.event, l.status ?? null, l.attempt]),
    [
      ['relay.bad_status', 500, 1],
      ['relay.bad_answer', null, 2],
      ['relay.bad_answer', null, 3],
      ['relay.bad_status', 401, 4],
    ],
  );
  const delays = failures.map((l) => l.retry_in_ms as number);
  assert.ok(delays[3]! > delays[0]!, `backoff grows: ${delays.join(', ')}`);
  const tokenLine = failures[3]!;
  assert.match(String(tokenLine.msg), /token/);
  assert.ok(
    relay.seen.every((s) => s.token === 'tkn'),
    'the token header is sent on every call',
  );
  assert.deepEqual(relay.seen[0]!.body, { server_public_key: node.publicKey });
  // The answer is the whole updated history, encrypted to the client key.
  const history = decryptJson({ ciphertext: delivered.chat_history, cipherkey: delivered.cipherkey, iv: delivered.iv }, client.privateKeyPem) as any[];
  assert.equal(history.length, 2);
  assert.equal(delivered.client_public_key, client.publicKeyWire);
  assert.ok(!logs.text().includes('hidden text'));
  assert.ok(!logs.text().includes(nodeKey));
});

test('API v1: a node the relay forgets (404 on poll) registers again; cancelled work is not answered', async (t) => {
  const client = await generateKeyPair();
  let registers = 0;
  const posted: string[] = [];
  let serverKey = '';
  const relay = await scriptedRelay([
    (req, body, res) => {
      // one handler for every call, keyed by route
      posted.push(req.url ?? '');
      if (req.url === '/api/v1/relay/servers/register') {
        registers += 1;
        serverKey = body.server_public_key;
        assert.equal(body.capabilities.api_version, 'v1');
        return json(200, { next_ping_in_x_seconds: 30, poll_wait_seconds: 0, control_credential: registers === 1 ? 'cred-1' : undefined })(req, body, res);
      }
      if (req.url === '/api/v1/relay/servers/poll') {
        const polls = posted.filter((p) => p === '/api/v1/relay/servers/poll').length;
        if (polls === 1) return json(404, { error: { code: 404, message: 'Server with the specified public key not found' } })(req, body, res);
        if (polls === 2) {
          const env = {
            protocol: 'tokenplace_api_v1_relay_e2ee',
            version: 1,
            request_id: 'r1',
            client_public_key: client.publicKeyWire,
            api_v1_request: { model: 'm', messages: [{ role: 'user', content: 'x' }], options: {} },
          };
          const enc = encryptJson(env, serverKey);
          return json(200, {
            protocol: 'tokenplace_api_v1_relay_e2ee',
            version: 1,
            request_id: 'r1',
            client_public_key: client.publicKeyWire,
            chat_history: enc.ciphertext,
            cipherkey: enc.cipherkey,
            iv: enc.iv,
          })(req, body, res);
        }
        return json(200, { message: 'No requests available', next_ping_in_x_seconds: 0, poll_wait_seconds: 0 })(req, body, res);
      }
      if (req.url === '/api/v1/relay/servers/control') {
        assert.equal(body.control_credential, 'cred-1');
        return json(200, { status: body.acknowledge ? 'cancelled' : 'cancelled', next_poll_seconds: 1 })(req, body, res);
      }
      if (req.url === '/api/v1/relay/servers/unregister') {
        assert.equal(body.control_credential, 'cred-1');
        return json(200, { message: 'ok', removed: true })(req, body, res);
      }
      return json(404, { error: 'unexpected' })(req, body, res);
    },
  ]);
  t.after(() => relay.close());
  const logs = captureLogger();
  const node = await startDemoNode({ relayUrl: relay.url, protocol: 'v1', logger: logs.logger });
  await waitFor('the cancelled request to be dropped', async () => (logs.lines().some((l) => l.event === 'work.dropped') ? true : undefined));
  await node.stop();
  assert.equal(registers, 2, 'registered again after the 404');
  assert.ok(logs.lines().some((l) => l.event === 'node.reregister'));
  assert.ok(!posted.includes('/api/v1/relay/responses'), 'no answer for a cancelled request');
  assert.equal(posted.filter((p) => p === '/api/v1/relay/servers/control').length, 2, 'checked, then acknowledged');
  assert.equal(posted[posted.length - 1], '/api/v1/relay/servers/unregister');
});
