// HTTP- and socket-level attacks on one relay, measured in one run on loopback.
//
//   npm run build && node --import tsx bench/abuse/attack-http.ts [--seconds 10]
//
// Starts the built relay (dist/src/cli.js serve, memory store, default caps except a connection
// cap of 400 so that loopback can reach it) and the demo compute node (legacy protocol) as child
// processes. Then, one after the other, each attack runs for --seconds (≤ 30) while an honest
// client from 127.0.0.5 does real encrypted chat turns (/next_server, /faucet, /retrieve):
//   1. idle keep-alive sockets from 10 addresses (127.0.0.101-110), 100 each, trying to hold
//      every slot (one request each, then idle; reopened as soon as the relay closes them);
//   2. silent sockets from 5 addresses (127.0.0.121-125), 60 each, that never send a byte;
//   3. a held-poll flood from one address (127.0.0.130): 200 concurrent /retrieve long-polls;
//   4. a third party (127.0.0.9) spending the victim's budgets as fast as the relay answers:
//      /stream/retrieve naming the honest client's key, /api/v1/relay/progress naming the demo
//      node's key, while the victim (127.0.0.5) chats and the node polls.
// Prints per attack what the attacker got (counts by status and code), the honest client's round
// trips, and the relay's peak RSS during the attack (VmHWM, reset per attack via clear_refs).
// Bounded: each attack stops after --seconds, sockets are capped per address, and the whole run
// kills its children on exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { generateKeyPair, type KeyPair } from '../../src/crypto/index.js';
import { CLI, findings, printFindings, ROOT, startRelay as startBuiltRelay } from './harness.js';
import { honestTurn, LocalHttp } from './peers.js';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const attackMs = Math.min(Math.max(Number(args.seconds), 3), 30) * 1000;
const HONEST = '127.0.0.5';
const THIRD_PARTY = '127.0.0.9';
const MAX_CONNECTIONS = 400;

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

async function startRelay(): Promise<{ url: string; port: number; child: ChildProcess }> {
  const relay = await startBuiltRelay({ redis: false, env: { TOKENPLACE_LOG_LEVEL: 'warn', TOKENPLACE_RELAY_MAX_CONNECTIONS: String(MAX_CONNECTIONS) } });
  children.push(relay.process);
  return { url: relay.url, port: relay.port, child: relay.process };
}

function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not permitted: the peak is then since start
  }
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 102.4) / 10;
}

type Counts = Record<string, number>;
const bump = (counts: Counts, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

/** Status and code of the first answer on a raw socket ("closed" if none). */
function firstAnswer(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const done = (label: string): void => {
      socket.off('data', onData);
      resolve(label);
    };
    const onData = (chunk: Buffer): void => {
      data += chunk.toString();
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = data.split(' ')[1] ?? '?';
      const code = /"code":"([a-z_]+)"/.exec(data.slice(end))?.[1];
      done(code === undefined ? status : `${status} ${code}`);
    };
    socket.on('data', onData);
    socket.once('close', () => done('closed'));
  });
}

interface SocketAttack {
  answers: Counts;
  opened: number;
  closedByRelay: number;
  maxHeldMs: number;
}

/**
 * Keeps up to `perAddress` sockets open from each address until `until`; `send` is written once
 * per socket (undefined: a silent socket). A socket the relay closes is reopened after 50 ms.
 */
async function holdSockets(port: number, addresses: string[], perAddress: number, until: number, send: string | undefined): Promise<SocketAttack> {
  const result: SocketAttack = { answers: {}, opened: 0, closedByRelay: 0, maxHeldMs: 0 };
  const live = new Set<Socket>();
  const slot = async (address: string): Promise<void> => {
    while (Date.now() < until) {
      const socket = connect({ host: '127.0.0.1', port, localAddress: address });
      socket.on('error', () => {});
      const opened = Date.now();
      live.add(socket);
      result.opened++;
      const answer = firstAnswer(socket);
      if (send !== undefined) socket.once('connect', () => socket.write(send));
      const closed = new Promise<boolean>((r) => socket.once('close', () => r(true)));
      const label = await Promise.race([answer, new Promise<string>((r) => setTimeout(() => r('none'), Math.max(0, until - Date.now())))]);
      if (label !== 'none') bump(result.answers, label);
      const stillOpen = await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), Math.max(0, until - Date.now())))]);
      live.delete(socket);
      if (stillOpen) {
        result.closedByRelay++;
        result.maxHeldMs = Math.max(result.maxHeldMs, Date.now() - opened);
        await new Promise((r) => setTimeout(r, 50));
      } else {
        result.maxHeldMs = Math.max(result.maxHeldMs, Date.now() - opened);
        socket.destroy();
      }
    }
  };
  await Promise.all(addresses.flatMap((address) => Array.from({ length: perAddress }, () => slot(address))));
  for (const socket of live) socket.destroy();
  return result;
}

interface HonestResult {
  turns: number;
  failed: string[];
  statuses: Counts;
  turnaroundMs: number[];
}

/** Honest chat turns from 127.0.0.5, one every 2 s (faster than anyone types), until `until` (at least one). */
async function honestWhile(url: string, keys: KeyPair, until: number): Promise<HonestResult> {
  const client = new LocalHttp(HONEST, 2);
  const result: HonestResult = { turns: 0, failed: [], statuses: {}, turnaroundMs: [] };
  try {
    do {
      const next = Date.now() + 2000;
      try {
        const turn = await honestTurn(client, url, keys, `turn ${result.turns}`, { deadlineMs: 20_000 });
        for (const status of turn.statuses) bump(result.statuses, String(status));
        if (!Array.isArray(turn.reply)) result.failed.push('reply did not decrypt to a history');
        result.turnaroundMs.push(Math.round(turn.turnaroundMs));
      } catch (err) {
        result.failed.push((err as Error).message);
      }
      result.turns++;
      if (Date.now() < until) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next, until) - Date.now())));
    } while (Date.now() < until);
  } finally {
    client.close();
  }
  return result;
}

/** Requests as fast as answered from one address, `concurrency` at a time, counting status+code. */
async function flood(url: string, address: string, concurrency: number, until: number, make: () => { path: string; body: unknown }): Promise<Counts> {
  const client = new LocalHttp(address, concurrency);
  const counts: Counts = {};
  const worker = async (): Promise<void> => {
    while (Date.now() < until) {
      const { path, body } = make();
      try {
        const answer = await client.request('POST', `${url}${path}`, body, 12_000);
        const code = typeof answer.body?.code === 'string' ? ` ${answer.body.code}` : '';
        bump(counts, `${answer.status}${code}`);
      } catch {
        bump(counts, 'error');
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  client.close();
  return counts;
}

/** The numeric leaves of an attack's answer counts, flattened to "path": count. */
function flatCounts(value: unknown, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof value === 'number') out[prefix || 'count'] = value;
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) Object.assign(out, flatCounts(v, prefix ? `${prefix} ${k}` : k));
  }
  return out;
}

function report(name: string, attacker: unknown, honest: HonestResult, rssMb: number, extra: Record<string, unknown> = {}): void {
  const ok = honest.failed.length === 0 && Object.keys(honest.statuses).every((s) => s === '200');
  findings.push({
    attack: name,
    relayUp: children.every((child) => child.exitCode === null && child.signalCode === null),
    peakRssMiB: Math.round(rssMb),
    honestOk: honest.turns - honest.failed.length,
    honestFailed: honest.failed.length,
    attacker: flatCounts(attacker),
  });
  process.stdout.write(
    `\n## ${name}\n` +
      `attacker: ${JSON.stringify(attacker)}\n` +
      Object.entries(extra)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`)
        .join('') +
      `honest client (${HONEST}): ${honest.turns} turns, failed ${honest.failed.length}${honest.failed.length ? ` ${JSON.stringify([...new Set(honest.failed)].slice(0, 3))}` : ''}, statuses ${JSON.stringify(honest.statuses)}, turnaround ms ${JSON.stringify(honest.turnaroundMs)} -> ${ok ? 'OK' : 'HURT'}\n` +
      `relay peak RSS: ${rssMb} MB\n`,
  );
}

async function metric(url: string, prefix: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

async function main(): Promise<void> {
  const relay = await startRelay();
  const pid = relay.child.pid!;
  const node = spawn(process.execPath, [CLI, 'node', '--relay', relay.url, '--protocol', 'legacy'], { cwd: ROOT, stdio: 'ignore' });
  children.push(node);
  const keys = await generateKeyPair();
  // The node is up once a turn completes.
  const warm = await honestWhile(relay.url, keys, 0);
  process.stdout.write(
    `relay ${relay.url} (pid ${pid}), connection cap ${MAX_CONNECTIONS}, attack ${attackMs / 1000} s each; warm-up turn: ${warm.failed.length === 0 ? 'ok' : warm.failed.join('; ')}; start RSS ${peakRssMb(pid)} MB\n`,
  );

  // 1. idle keep-alive sockets from several addresses trying to hold every slot
  {
    resetPeak(pid);
    const until = Date.now() + attackMs;
    const addresses = Array.from({ length: 10 }, (_, i) => `127.0.0.${101 + i}`);
    const [attack, honest] = await Promise.all([
      holdSockets(relay.port, addresses, 100, until, 'GET /livez HTTP/1.1\r\nHost: relay\r\n\r\n'),
      honestWhile(relay.url, keys, until),
    ]);
    report('1. idle keep-alive sockets: 10 addresses x 100 sockets, cap 400, 64 per source', attack.answers, honest, peakRssMb(pid), {
      sockets_opened: attack.opened,
      closed_by_relay: attack.closedByRelay,
      longest_held_ms: attack.maxHeldMs,
      relay_metrics: await metric(relay.url, 'tokenplace_relay_http_refused_total'),
    });
  }
  await new Promise((r) => setTimeout(r, 1000));

  // 2. silent sockets
  {
    resetPeak(pid);
    const until = Date.now() + Math.max(attackMs, 20_000);
    const addresses = Array.from({ length: 5 }, (_, i) => `127.0.0.${121 + i}`);
    const [attack, honest] = await Promise.all([holdSockets(relay.port, addresses, 60, until, undefined), honestWhile(relay.url, keys, until)]);
    report(
      '2. silent sockets: 5 addresses x 60 sockets that never send a byte (header timeout 15 s, checked every 1 s)',
      attack.answers,
      honest,
      peakRssMb(pid),
      {
        sockets_opened: attack.opened,
        closed_by_relay: attack.closedByRelay,
        longest_held_ms: attack.maxHeldMs,
      },
    );
  }
  await new Promise((r) => setTimeout(r, 1000));

  // 3. held-poll flood from one source
  {
    resetPeak(pid);
    const until = Date.now() + attackMs;
    let n = 0;
    const [attack, honest] = await Promise.all([
      flood(relay.url, '127.0.0.130', 60, until, () => ({
        path: '/retrieve',
        body: { client_public_key: Buffer.from(`flood-${n++ % 500}`).toString('base64') },
      })),
      honestWhile(relay.url, keys, until),
    ]);
    report('3. held-poll flood: 60 concurrent /retrieve long-polls from 127.0.0.130 (share 32 per source)', attack, honest, peakRssMb(pid), {
      relay_metrics: await metric(relay.url, 'tokenplace_relay_http_refused_total{kind="source_held_polls"}'),
    });
  }
  await new Promise((r) => setTimeout(r, 1000));

  // 4. a third party spending the victim's budgets
  {
    resetPeak(pid);
    const next = (await (await fetch(`${relay.url}/next_server`)).json()) as { server_public_key: string };
    const nodeKey = next.server_public_key;
    const until = Date.now() + attackMs;
    // Routes that spend the per-key budgets without holding and without side effects: the
    // client key on /stream/retrieve (no stream exists), the node key on /progress (refused
    // after the budget is spent: no credential).
    const [retrieveFlood, nodeFlood, honest] = await Promise.all([
      flood(relay.url, THIRD_PARTY, 8, until, () => ({ path: '/stream/retrieve', body: { client_public_key: keys.publicKeyWire } })),
      flood(relay.url, THIRD_PARTY, 8, until, () => ({ path: '/api/v1/relay/progress', body: { server_public_key: nodeKey } })),
      honestWhile(relay.url, keys, until),
    ]);
    report(
      "4. third party 127.0.0.9 spends the victim's budgets: /stream/retrieve naming the honest client's key, /api/v1/relay/progress naming the demo node's key",
      { client_key_flood: retrieveFlood, node_key_flood: nodeFlood },
      honest,
      peakRssMb(pid),
      {
        relay_metrics: await metric(relay.url, 'tokenplace_relay_rate_limited_total'),
        demo_node_sink_polls: await metric(relay.url, 'tokenplace_relay_requests_total{method="POST",endpoint="sink"'),
      },
    );
  }

  printFindings('attack-http');
  node.kill('SIGTERM');
  relay.child.kill('SIGTERM');
  await Promise.all([once(node, 'exit'), once(relay.child, 'exit')]);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`attack-http: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
