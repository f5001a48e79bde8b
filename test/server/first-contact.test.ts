// What a new user meets first, through the built CLI (`npm run build` first): help instead of a
// stack trace, a busy port that names what to change, the chat URL as the last start-up line,
// Node's warnings as JSON log lines, and no listener-leak warning with many polls held.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT, startRelayProcess, type RelayProcess } from '../support/relay-process.js';
import { CAPS } from '../support/v1-capabilities.js';

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end (killed after `timeoutMs`: a command that should exit but hangs fails). */
function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', RELAY_HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

/** A port some other program holds, for the lifetime of the returned server. */
async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { port: address.port, server };
}

const STACK_FRAME = /^\s+at /m;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stop(relay: RelayProcess): Promise<void> {
  relay.child.kill('SIGTERM');
  assert.equal(await relay.exited, 0, relay.output());
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('help', () => {
  for (const args of [
    ['serve', '--help'],
    ['serve', '-h'],
    ['help', 'serve'],
  ]) {
    it(`${args.join(' ')} prints the serve usage on stdout and exits 0`, async () => {
      const run = await runCli(args);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      assert.match(run.stdout, /^Usage: tokenplace-relay serve /);
      assert.match(run.stdout, /--port PORT .*RELAY_PORT/);
      assert.match(run.stdout, /--demo-node/);
    });
  }

  for (const args of [['--help'], ['-h'], ['help']]) {
    it(`${args.join(' ')} lists every command`, async () => {
      const run = await runCli(args);
      assert.equal(run.code, 0, run.stderr);
      for (const command of ['serve', 'node', 'doctor']) assert.match(run.stdout, new RegExp(`^  ${command} `, 'm'));
    });
  }

  for (const [command, first] of [
    ['node', /^Usage: tokenplace-relay node --relay URL/],
    ['doctor', /^Usage: tokenplace-relay doctor URL/],
  ] as const) {
    it(`${command} --help and help ${command} print that command's usage`, async () => {
      for (const args of [
        [command, '--help'],
        ['help', command],
      ]) {
        const run = await runCli(args);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, first);
      }
    });
  }

  it('a wrong option or command is one line and the usage on stderr, exit 2, no stack trace', async () => {
    const bad = await runCli(['serve', '--prot', '5011']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr.split('\n')[0] ?? '', /^tokenplace-relay: serve: Unknown option '--prot'/);
    assert.match(bad.stderr, /Usage: tokenplace-relay serve/);
    assert.doesNotMatch(bad.stderr, STACK_FRAME);

    const unknown = await runCli(['serv']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^tokenplace-relay: unknown command: serv\n/);
    assert.doesNotMatch(unknown.stderr, STACK_FRAME);
  });
});

describe('a port that is taken', () => {
  const held: Server[] = [];
  after(() => held.forEach((s) => s.close()));

  it('RELAY_PORT: one line naming RELAY_PORT and --port, exit 1, the process ends by itself', async () => {
    const { port, server } = await occupiedPort();
    held.push(server);
    const run = await runCli(['serve'], { RELAY_PORT: String(port), TOKENPLACE_LOG_LEVEL: 'warn' });
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, new RegExp(`port 127\\.0\\.0\\.1:${port} is already in use`));
    assert.match(lines[0]!, /RELAY_PORT=PORT/);
    assert.match(lines[0]!, /--port PORT/);
    assert.doesNotMatch(run.stderr, STACK_FRAME);
  });

  it('--port: the message points at the flag', async () => {
    const { port, server } = await occupiedPort();
    held.push(server);
    const run = await runCli(['serve', '--port', String(port)], { TOKENPLACE_LOG_LEVEL: 'warn' });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /already in use.*choose another with --port PORT\n$/);
    assert.doesNotMatch(run.stderr, /RELAY_PORT/);
  });

  it('TOKENPLACE_METRICS_PORT: names the metrics variable, and the relay listener is closed again', async () => {
    const { port, server } = await occupiedPort();
    held.push(server);
    const relayPort = await occupiedPort();
    relayPort.server.close(); // a free port for the relay itself
    const run = await runCli(['serve'], { RELAY_PORT: String(relayPort.port), TOKENPLACE_METRICS_PORT: String(port), TOKENPLACE_LOG_LEVEL: 'warn' });
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`^tokenplace-relay: metrics port 127\\.0\\.0\\.1:${port} is already in use: choose another with TOKENPLACE_METRICS_PORT=PORT`),
    );
    assert.doesNotMatch(run.stderr, STACK_FRAME);
  });
});

describe('serve --demo-node (what npm start runs)', () => {
  it('prints the chat URL as the last start-up line, after the demo node has registered', async () => {
    const relay = await startRelayProcess({}, ['--demo-node']);
    try {
      await until('the chat URL', () => relay.output().includes('in your browser'));
      // Anything logged in the next moment would land after the URL: an idle poll must not.
      await new Promise((resolve) => setTimeout(resolve, 750));
      const out = relay.output();
      const urlLine = `  Open ${relay.url}/ in your browser to chat.\n`;
      const at = out.indexOf(urlLine);
      assert.ok(at > 0, out);
      assert.equal(out.slice(at + urlLine.length).trim(), '', `nothing after the URL line:\n${out}`);
      const before = jsonLines(out.slice(0, at));
      const events = before.map((line) => line.event ?? line.message);
      assert.ok(events.includes('relay.listening'), out);
      assert.ok(events.includes('node.registered'), out);
    } finally {
      await stop(relay);
    }
  });
});

describe('the demo node against a real relay', () => {
  /** Runs `node --relay URL ...args` until stopped; resolves its exit code. */
  function demoNode(relayUrl: string, args: string[], env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [CLI, 'node', '--relay', relayUrl, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    return { child, output: () => out, exited };
  }
  const next = async (relay: RelayProcess, model?: string): Promise<number> => {
    const res = await fetch(`${relay.url}/api/v1/relay/servers/next${model === undefined ? '' : `?model=${model}`}`);
    await res.arrayBuffer();
    return res.status;
  };

  it('registers only for the demo model unless told otherwise, so clients of the default model never reach it', async () => {
    const relay = await startRelayProcess();
    const node = demoNode(relay.url, []);
    try {
      await until('the demo node registered', async () => (await next(relay, 'tokenplace-demo')) === 200);
      assert.notEqual(await next(relay), 200, 'a client asking for the default model is routed to the demo node');
      assert.notEqual(await next(relay, 'qwen3-8b-instruct'), 200);
      const ready = jsonLines(node.output()).find((l) => l.event === 'node.ready_to_serve');
      assert.deepEqual(ready?.model_ids, ['tokenplace-demo']);
    } finally {
      node.child.kill('SIGTERM');
      assert.equal(await node.exited, 0, node.output());
      await stop(relay);
    }
  });

  it('--model and TOKENPLACE_NODE_MODELS choose the models it serves', async () => {
    const relay = await startRelayProcess();
    const byFlag = demoNode(relay.url, ['--model', 'qwen3-8b-instruct']);
    const byEnv = demoNode(relay.url, [], { TOKENPLACE_NODE_MODELS: 'llama-test-1, llama-test-2' });
    try {
      await until('the --model node', async () => (await next(relay)) === 200);
      await until('the env node', async () => (await next(relay, 'llama-test-2')) === 200);
      assert.notEqual(await next(relay, 'tokenplace-demo'), 200);
    } finally {
      byFlag.child.kill('SIGTERM');
      byEnv.child.kill('SIGTERM');
      assert.equal(await byFlag.exited, 0, byFlag.output());
      assert.equal(await byEnv.exited, 0, byEnv.output());
      await stop(relay);
    }
  });
});

describe('process warnings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-first-contact-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Loaded before the CLI: on SIGUSR2 the process emits a warning, as Node itself would.
  const preload = join(dir, 'warn-on-usr2.mjs');
  writeFileSync(preload, "process.on('SIGUSR2', () => process.emitWarning('held sockets are piling up', { code: 'TP_TEST_WARNING', type: 'TestWarning' }));\n");

  it('go out as one JSON log line (name, message, code; no stack at info), not as text on stderr', async () => {
    const relay = await startRelayProcess({ NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` });
    try {
      relay.child.kill('SIGUSR2');
      await until('the warning line', () => relay.output().includes('process.warning'));
      const line = jsonLines(relay.output()).find((l) => l.message === 'process.warning');
      assert.ok(line, relay.output());
      assert.equal(line.level, 'warn');
      assert.deepEqual(line.warning, { name: 'TestWarning', message: 'held sockets are piling up', code: 'TP_TEST_WARNING' });
      assert.doesNotMatch(relay.output(), /\(node:\d+\) /);
    } finally {
      await stop(relay);
    }
  });

  it('carry the stack at debug', async () => {
    const relay = await startRelayProcess({ NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`, TOKENPLACE_LOG_LEVEL: 'debug' });
    try {
      relay.child.kill('SIGUSR2');
      await until('the warning line', () => relay.output().includes('process.warning'));
      const line = jsonLines(relay.output()).find((l) => l.message === 'process.warning');
      assert.match(String((line?.warning as Record<string, unknown> | undefined)?.stack), /TestWarning: held sockets are piling up/);
    } finally {
      await stop(relay);
    }
  });
});

describe('many held polls', () => {
  it('20 each of /sink, /retrieve, API v1 poll and retrieve held at once: no MaxListenersExceededWarning', async () => {
    const relay = await startRelayProcess({
      TOKENPLACE_RELAY_SINK_HOLD_MS: '3000',
      TOKENPLACE_RELAY_RETRIEVE_HOLD_MS: '3000',
      TOKEN_PLACE_API_V1_RELAY_POLL_WAIT_SECONDS: '3',
      TOKENPLACE_RELAY_HELD_POLLS_PER_SOURCE: '1000',
      TOKENPLACE_RELAY_CONNECTIONS_PER_SOURCE: '1000',
      TOKENPLACE_API_V1_MAX_NODES_PER_SOURCE: '1000',
      TOKENPLACE_RELAY_MAX_NODES_PER_SOURCE: '1000',
      TOKENPLACE_RATE_LIMIT: 'off',
    });
    try {
      const key = (name: string): string => Buffer.from(`-----BEGIN PUBLIC KEY-----\n${name}\n-----END PUBLIC KEY-----\n`).toString('base64');
      const caps = CAPS;
      const post = async (path: string, body: unknown): Promise<number> => {
        const res = await fetch(`${relay.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        await res.arrayBuffer();
        return res.status;
      };
      const N = 20;
      // Pollers, and idle nodes whose queued requests the held API v1 retrieves wait on.
      for (let i = 0; i < N; i++) {
        assert.equal(await post('/api/v1/relay/servers/register', { server_public_key: key(`POLLER-${i}`), capabilities: caps }), 200);
        assert.equal(await post('/api/v1/relay/servers/register', { server_public_key: key(`IDLE-${i}`), capabilities: caps }), 200);
        const admitted = await post('/api/v1/relay/requests', {
          server_public_key: key(`IDLE-${i}`),
          client_public_key: key(`CLIENT-${i}`),
          request_id: `r-${i}`,
          protocol: 'tokenplace_api_v1_relay_e2ee',
          version: 1,
          ciphertext: 'Y2lw',
          cipherkey: 'a2V5',
          iv: 'aXZpdml2',
          cancel_token: `cancel-${i}`,
        });
        assert.equal(admitted, 200);
      }
      const polls: Promise<number>[] = [];
      for (let i = 0; i < N; i++) {
        polls.push(post('/sink', { server_public_key: key(`LEGACY-${i}`) }));
        polls.push(post('/retrieve', { client_public_key: key(`LEGACY-CLIENT-${i}`) }));
        polls.push(post('/api/v1/relay/servers/poll', { server_public_key: key(`POLLER-${i}`), capabilities: caps }));
        polls.push(post('/api/v1/relay/responses/retrieve', { client_public_key: key(`CLIENT-${i}`), request_id: `r-${i}` }));
      }
      // All of them held at the same moment (the relay's own gauge), not one after another.
      await until(
        '80 held polls',
        async () => {
          const text = await (await fetch(`${relay.url}/metrics`)).text();
          console.log('held', /^tokenplace_relay_held_polls (\d+)/m.exec(text)?.[1]);
          return Number(/^tokenplace_relay_held_polls (\d+)/m.exec(text)?.[1] ?? 0) >= 4 * N;
        },
        10_000,
      ).catch((err: unknown) => {
        console.log(relay.output().slice(-5000));
        throw err;
      });
      const statuses = await Promise.all(polls);
      assert.deepEqual([...new Set(statuses)].sort(), [200, 202]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.doesNotMatch(relay.output(), /MaxListenersExceeded/);
      assert.doesNotMatch(relay.output(), /process\.warning/);
    } finally {
      await stop(relay);
    }
  });
});
