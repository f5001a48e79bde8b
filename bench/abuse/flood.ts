// What a flood does to an honest client's latency, measured in one run on loopback.
//
//   node --import tsx bench/abuse/flood.ts [--seconds 15] [--concurrency 64] [--target next_server|faucet|retrieve]
//
// Starts a relay (default budgets, rate limits on) and a demo compute node as child processes.
// The honest client, from 127.0.0.3, does what the upstream browser page does: encrypted chat
// turns polled every 500 ms, one turn every 2 s (faster than anyone types), plus a
// GET /next_server every 100 ms so that there are enough samples for a p99. That is ~12 req/s,
// inside the default client budget (30/s) as every honest peer is. Three phases of the same length, one after the other:
//   1. baseline      honest client alone;
//   2. flood         a flooder process from 127.0.0.2 sends as fast as the relay answers;
//   3. flood, limits off   the same against a second relay started with TOKENPLACE_RATE_LIMIT=0.
// Prints p50/p99 of the honest requests per phase, the honest 429 count (must be 0), and what
// the flooder got. Bounded: each phase ends after --seconds (≤ 60), the flooder after the phase.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateKeyPair } from '../../src/crypto/index.js';
import { honestTurn, LocalHttp, type FloodStats } from './peers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '15' }, concurrency: { type: 'string', default: '64' }, target: { type: 'string', default: 'next_server' } },
});
const phaseMs = Math.min(Math.max(Number(args.seconds), 2), 60) * 1000;
const concurrency = Math.min(Math.max(Number(args.concurrency), 1), 512);
const HONEST = '127.0.0.3';
const FLOODER = '127.0.0.2';

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function tsx(script: string, argv: string[], env: Record<string, string> = {}, stdout: 'pipe' | 'ignore' = 'pipe'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, script), ...argv], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', stdout, 'inherit'],
  });
}

async function startRelay(extra: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = tsx('src/cli.ts', ['serve'], { RELAY_HOST: '127.0.0.1', RELAY_PORT: String(port), TOKENPLACE_LOG_LEVEL: 'error', ...extra }, 'ignore');
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/livez`)).ok) return { url, child };
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('relay did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface PhaseResult {
  phase: string;
  samples: number;
  p50: number;
  p99: number;
  turns: number;
  turnP50: number;
  honest429: number;
  flood?: FloodStats;
}

async function honestPhase(phase: string, relayUrl: string, floodTarget: string | null): Promise<PhaseResult> {
  const client = new LocalHttp(HONEST, 4);
  const keys = await generateKeyPair();
  let flooder: ChildProcess | null = null;
  let floodOut = '';
  if (floodTarget !== null) {
    flooder = tsx('bench/abuse/flood-worker.ts', [relayUrl, floodTarget, String(concurrency), String(phaseMs + 30_000), FLOODER]);
    flooder.stdout!.on('data', (d: Buffer) => (floodOut += d.toString()));
    await new Promise((r) => setTimeout(r, 1500)); // let the flood reach full speed first
  }
  const latencies: number[] = [];
  const turnMs: number[] = [];
  let honest429 = 0;
  const end = Date.now() + phaseMs;
  const probes = (async () => {
    while (Date.now() < end) {
      const answer = await client.request('GET', `${relayUrl}/next_server`);
      latencies.push(answer.ms);
      if (answer.status === 429) honest429++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const turns = (async () => {
    let n = 0;
    while (Date.now() < end) {
      const started = Date.now();
      const turn = await honestTurn(client, relayUrl, keys, `message ${n++}`, { pollMs: 500 });
      honest429 += turn.statuses.filter((s) => s === 429).length;
      latencies.push(...turn.requestMs);
      turnMs.push(turn.turnaroundMs);
      await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (Date.now() - started))));
    }
  })();
  await Promise.all([probes, turns]);
  client.close();
  let flood: FloodStats | undefined;
  if (flooder !== null) {
    await stop(flooder);
    flood = JSON.parse(floodOut.trim().split('\n').pop() ?? '{}') as FloodStats;
  }
  latencies.sort((a, b) => a - b);
  turnMs.sort((a, b) => a - b);
  return {
    phase,
    samples: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    turns: turnMs.length,
    turnP50: percentile(turnMs, 50),
    honest429,
    flood,
  };
}

const children: ChildProcess[] = [];
try {
  const limited = await startRelay({});
  children.push(limited.child);
  const unlimited = await startRelay({ TOKENPLACE_RATE_LIMIT: '0' });
  children.push(unlimited.child);
  for (const relay of [limited, unlimited]) children.push(tsx('src/cli.ts', ['node', '--relay', relay.url, '--protocol', 'legacy'], {}, 'ignore'));

  const results = [
    await honestPhase('baseline (limits on)', limited.url, null),
    await honestPhase(`flood ${args.target} (limits on)`, limited.url, args.target),
    await honestPhase('baseline (limits off)', unlimited.url, null),
    await honestPhase(`flood ${args.target} (limits off)`, unlimited.url, args.target),
  ];
  const ms = (v: number) => v.toFixed(2).padStart(8);
  console.log(`\nhonest client from ${HONEST}; flooder from ${FLOODER}, concurrency ${concurrency}; ${phaseMs / 1000} s per phase\n`);
  console.log('phase                              samples   p50 ms   p99 ms  turns  turn p50 ms  honest 429  flood sent  flood 429  flood req/s');
  for (const r of results) {
    const f = r.flood;
    const rate = f === undefined ? '' : ((f.sent / f.elapsedMs) * 1000).toFixed(0);
    console.log(
      `${r.phase.padEnd(34)} ${String(r.samples).padStart(7)} ${ms(r.p50)} ${ms(r.p99)} ${String(r.turns).padStart(6)} ${ms(r.turnP50).padStart(12)} ${String(r.honest429).padStart(11)} ${String(f?.sent ?? '').padStart(11)} ${String(f?.byStatus['429'] ?? '').padStart(10)} ${rate.padStart(12)}`,
    );
  }
  console.log(`\n${JSON.stringify(results)}`);
} finally {
  for (const child of children.reverse()) await stop(child);
}
