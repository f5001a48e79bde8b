// Faults under honest traffic of both protocols: three relay replicas on one real redis-server
// (AOF, fsync always, DEBUG allowed from loopback), counted per fault and protocol.
//
//   npm run build && node --import tsx bench/abuse/faults-v1.ts [--scale 1]
//
// Phases, one after the other, each with honest traffic running:
//   baseline       no fault;
//   stall          three `DEBUG SLEEP 3` (three times the relays' 1 s command timeout): the relay
//                  answers 503 while Redis still runs every script it was sent when it wakes;
//   redis-restart  redis-server stopped (SIGTERM) and started again on the same port and AOF;
//   sigterm        one replica drained by SIGTERM, a fresh one started in its place;
//   kill9          one replica killed with SIGKILL, a fresh one started in its place.
// Honest peers behave as the real ones may: an API v1 client retries its submission with the
// same id and bytes until it gets an answer, fetches the answer until it has it and then acks
// it; an API v1 node presents its credential, and retries an answer until it is stored. Legacy
// peers behave as the Dec 2025 ones (no retries beyond what they do; nothing to acknowledge).
// A request counts for the phase in which its submission started. Prints, per phase and
// protocol: accepted, delivered, lost (accepted, never delivered), refusals by code, and the
// replicas' peak RSS. Bounded: submissions stop after the last phase, fetching 40 s later.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const PROTOCOL = { protocol: 'tokenplace_api_v1_relay_e2ee', version: 1 };
const CAPS = {
  supported_model_ids: ['qwen3-8b-instruct'],
  active_context_tier: '8k-fast',
  maximum_total_context_tokens: 8192,
  maximum_output_tokens: 1024,
  default_output_token_reservation: 512,
  max_concurrency: 4,
  backend_class: 'cpu',
};
export const PHASES = ['baseline', 'stall', 'redis-restart', 'sigterm', 'kill9'] as const;
export type Phase = (typeof PHASES)[number];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const b64 = (text: string) => Buffer.from(text).toString('base64');

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up`);
    await sleep(50);
  }
}

type Answer = { ok: true; status: number; body: Record<string, unknown> } | { ok: false };

async function call(url: string, body?: unknown, timeoutMs = 10_000): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { unparsed: true };
    }
    return { ok: true, status: res.status, body: parsed };
  } catch {
    return { ok: false };
  }
}

function codeOf(answer: Answer): string {
  if (!answer.ok) return 'no_answer';
  const error = answer.body.error as { code?: unknown } | string | undefined;
  const code = answer.body.code ?? (typeof error === 'object' ? error?.code : undefined);
  return `${answer.status} ${String(code)}`;
}

// ------------------------------------------------------------------ processes

interface RedisProc {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

async function startRedis(): Promise<RedisProc> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'faults-v1-redis-'));
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--enable-debug-command',
        'local',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      async () => {
        const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        r.on('error', () => {});
        try {
          await r.connect();
          return (await r.ping()) === 'PONG';
        } finally {
          r.disconnect();
        }
      },
      10_000,
      'redis-server',
    );
  };
  const stop = async () => {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Replica {
  url: string;
  child: ChildProcess;
  peakRssKb(): number;
}

async function startReplica(redisUrl: string): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port)], {
    env: {
      PATH: process.env.PATH ?? '',
      TOKENPLACE_RELAY_STORE: 'redis',
      TOKENPLACE_REDIS_URL: redisUrl,
      TOKENPLACE_REDIS_COMMAND_TIMEOUT_MS: '1000',
      TOKENPLACE_LOG_LEVEL: 'fatal',
      // All peers share loopback: per-address budgets are not what this run is about.
      TOKENPLACE_RATE_LIMIT: '0',
      TOKEN_PLACE_API_V1_RELAY_POLL_WAIT_SECONDS: '2',
      // Claims whose reply was lost come back after 5 s (the peers here answer at once).
      TOKEN_PLACE_API_V1_IN_FLIGHT_TTL_SECONDS: '5',
      TOKENPLACE_RELAY_SINK_HOLD_MS: '1000',
      TOKENPLACE_RELAY_RETRIEVE_HOLD_MS: '1000',
    },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    // Generous: the machine may be busy, and a replacement starts while Redis is loaded.
    await waitFor(async () => (await fetch(`${url}/healthz`)).status === 200, 45_000, 'relay replica');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  let peak = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, 500);
  child.once('exit', () => clearInterval(timer));
  return { url, child, peakRssKb: () => (sample(), peak) };
}

async function stopReplica(replica: Replica, signal: NodeJS.Signals): Promise<void> {
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return;
  const exited = once(replica.child, 'exit');
  replica.child.kill(signal);
  await exited;
}

// ------------------------------------------------------------------ counting

interface Tally {
  accepted: number;
  delivered: number;
  lost: number;
  /** Submissions that ended with a refusal (status + code), never accepted. */
  refused: Map<string, number>;
}

export interface FaultReport {
  rows: { phase: Phase; protocol: 'v1' | 'legacy'; tally: Tally }[];
  wrongAnswers: number;
  peakRssKb: number;
  seconds: number;
}

function tallyOf(): Tally {
  return { accepted: 0, delivered: 0, lost: 0, refused: new Map() };
}

// ------------------------------------------------------------------ the run

export interface FaultOptions {
  /** Stretches the phases (1 = about 6 s each). */
  scale?: number;
  v1Clients?: number;
  legacyClients?: number;
  log?: (line: string) => void;
}

export async function runFaults(options: FaultOptions = {}): Promise<FaultReport> {
  const scale = Math.min(Math.max(options.scale ?? 1, 0.5), 5);
  const log = options.log ?? (() => {});
  const redis = await startRedis();
  const replicas: Replica[] = [];
  const retired: Replica[] = [];
  const started = Date.now();
  try {
    for (let i = 0; i < 3; i += 1) replicas.push(await startReplica(redis.url));
    const at = (i: number) => replicas[i % replicas.length]!.url;
    let phase: Phase = 'baseline';
    let submitting = true;
    let running = true;
    let stoppedAt = 0;
    /** Fetching goes on until 40 s after submissions stopped. */
    const fetchDeadline = () => (submitting ? Infinity : stoppedAt + 40_000);
    const tallies = new Map<string, Tally>();
    for (const p of PHASES) for (const proto of ['v1', 'legacy']) tallies.set(`${p}/${proto}`, tallyOf());
    const tally = (p: Phase, proto: 'v1' | 'legacy') => tallies.get(`${p}/${proto}`)!;
    let wrongAnswers = 0;
    const refuse = (t: Tally, code: string) => t.refused.set(code, (t.refused.get(code) ?? 0) + 1);

    // ---------------- API v1 peers
    const v1Nodes = 3;
    const v1Node = async (i: number) => {
      const key = b64(`fault-node-${i}`);
      let credential: string | undefined;
      let registered = false;
      let r = i;
      while (running) {
        r += 1;
        if (!registered) {
          const reg = await call(`${at(r)}/api/v1/relay/servers/register`, {
            server_public_key: key,
            capabilities: CAPS,
            ...(credential ? { control_credential: credential } : {}),
          });
          if (reg.ok && reg.status === 200) {
            if (typeof reg.body.control_credential === 'string') credential = reg.body.control_credential;
            registered = true;
          } else await sleep(200);
          continue;
        }
        const work = await call(
          `${at(r)}/api/v1/relay/servers/poll`,
          { server_public_key: key, ...(credential ? { control_credential: credential } : {}) },
          8000,
        );
        if (!work.ok || work.status !== 200) {
          if (work.ok && work.status === 404) registered = false;
          else await sleep(100);
          continue;
        }
        if (typeof work.body.request_id !== 'string') continue;
        // Answer until stored (a retry after a lost reply is a duplicate, 200), or the relay says
        // it is no longer wanted.
        for (let attempt = 0; running && attempt < 200; attempt += 1) {
          const sent = await call(`${at(r + attempt)}/api/v1/relay/responses`, {
            ...PROTOCOL,
            server_public_key: key,
            ...(credential ? { control_credential: credential } : {}),
            client_public_key: work.body.client_public_key,
            request_id: work.body.request_id,
            chat_history: b64(`answer:${String(work.body.ciphertext)}`),
            cipherkey: work.body.cipherkey,
            iv: work.body.iv,
          });
          if (sent.ok && (sent.status === 200 || sent.status === 410 || sent.status === 409)) break;
          await sleep(100);
        }
      }
    };

    let v1Next = 0;
    const v1Client = async (c: number) => {
      const clientKey = b64(`fault-client-${c}`);
      while (submitting) {
        const k = v1Next++;
        const mine = phase;
        const t = tally(mine, 'v1');
        const requestId = `rt-${k}`;
        const ciphertext = b64(`question-${k}`);
        let nodeKey: string | null = null;
        let accepted = false;
        let lastRefusal = 'no_answer';
        for (let attempt = 0; attempt < 100 && submitting; attempt += 1) {
          if (nodeKey === null) {
            const chosen = await call(`${at(k + attempt)}/api/v1/relay/servers/next`);
            if (!chosen.ok || chosen.status !== 200) {
              await sleep(100);
              continue;
            }
            nodeKey = String(chosen.body.server_public_key);
          }
          // Same id, same bytes on every retry.
          const admitted = await call(`${at(k + attempt)}/api/v1/relay/requests`, {
            ...PROTOCOL,
            server_public_key: nodeKey,
            client_public_key: clientKey,
            request_id: requestId,
            ciphertext,
            cipherkey: b64('key'),
            iv: b64('iv'),
          });
          if (admitted.ok && admitted.status === 200) {
            accepted = true;
            break;
          }
          lastRefusal = codeOf(admitted);
          if (admitted.ok && admitted.status < 500 && admitted.status !== 429 && admitted.status !== 404) break;
          if (admitted.ok && admitted.status === 404) nodeKey = null;
          await sleep(100);
        }
        if (!accepted) {
          refuse(t, lastRefusal);
          continue;
        }
        t.accepted += 1;
        let delivered = 0;
        for (let attempt = 0; Date.now() < fetchDeadline() && attempt < 2000; attempt += 1) {
          const got = await call(`${at(k + 1 + attempt)}/api/v1/relay/responses/retrieve`, { client_public_key: clientKey, request_id: requestId });
          if (!got.ok || got.status === 202 || got.status >= 500) {
            if (!got.ok || got.status >= 500) await sleep(100);
            continue;
          }
          if (got.status !== 200) break; // 404/410: gone
          if (got.body.chat_history !== b64(`answer:${ciphertext}`)) wrongAnswers += 1;
          delivered = 1;
          // Acknowledge; a lost ack costs nothing but memory until the answer's TTL.
          await call(`${at(k + 2 + attempt)}/api/v1/relay/responses/retrieve`, { client_public_key: clientKey, request_id: requestId, ack: true });
          break;
        }
        if (delivered) t.delivered += 1;
        else t.lost += 1;
      }
    };

    // ---------------- legacy peers (Dec 2025 behaviour)
    const legacyNodes = 3;
    const legacyNode = async (i: number) => {
      const key = `fault-legacy-node-${i}`;
      let r = i;
      while (running) {
        r += 1;
        const answer = await call(`${at(r)}/sink`, { server_public_key: key }, 10_000);
        if (!answer.ok || answer.status !== 200) {
          await sleep(100);
          continue;
        }
        if (typeof answer.body.client_public_key !== 'string' || typeof answer.body.chat_history !== 'string') continue;
        await call(`${at(r + 1)}/source`, {
          client_public_key: answer.body.client_public_key,
          chat_history: `a:${answer.body.chat_history}`,
          cipherkey: answer.body.cipherkey,
          iv: answer.body.iv,
        });
      }
    };
    let legacyNext = 0;
    const legacyClient = async (c: number) => {
      while (submitting) {
        const j = legacyNext++;
        const mine = phase;
        const t = tally(mine, 'legacy');
        const clientKey = `fault-legacy-client-${c}-${j}`;
        const sent = await call(`${at(j)}/faucet`, {
          server_public_key: `fault-legacy-node-${j % legacyNodes}`,
          client_public_key: clientKey,
          chat_history: `m:${j}`,
          cipherkey: 'k',
          iv: 'i',
        });
        if (!sent.ok || sent.status !== 200) {
          refuse(t, codeOf(sent));
          await sleep(100);
          continue;
        }
        t.accepted += 1;
        let delivered = false;
        const giveUp = Date.now() + 30_000;
        for (let attempt = 0; Date.now() < Math.min(fetchDeadline(), giveUp) && attempt < 300; attempt += 1) {
          const got = await call(`${at(j + 1 + attempt)}/retrieve`, { client_public_key: clientKey });
          if (got.ok && got.status === 200 && typeof got.body.chat_history === 'string') {
            if (got.body.chat_history !== `a:m:${j}`) wrongAnswers += 1;
            delivered = true;
            break;
          }
          await sleep(got.ok && got.status === 200 ? 50 : 100);
        }
        if (delivered) t.delivered += 1;
        else t.lost += 1;
      }
    };

    const peers = [...Array.from({ length: v1Nodes }, (_, i) => v1Node(i)), ...Array.from({ length: legacyNodes }, (_, i) => legacyNode(i))];
    await sleep(500);
    const clients = [
      ...Array.from({ length: options.v1Clients ?? 12 }, (_, c) => v1Client(c)),
      ...Array.from({ length: options.legacyClients ?? 6 }, (_, c) => legacyClient(c)),
    ];

    // ---------------- the faults
    const step = 6000 * scale;
    const raw = new Redis(redis.url, { maxRetriesPerRequest: null });
    raw.on('error', () => {});
    await sleep(step);
    phase = 'stall';
    log('fault: three DEBUG SLEEP 3');
    for (let s = 0; s < 3; s += 1) {
      await raw.call('DEBUG', 'SLEEP', '3').catch(() => {});
      await sleep(500 * scale);
    }
    await sleep(step / 2);
    phase = 'redis-restart';
    log('fault: redis-server restart');
    await redis.stop();
    await sleep(500);
    await redis.start();
    await sleep(step);
    phase = 'sigterm';
    log('fault: SIGTERM of a replica');
    const drained = replicas[0]!;
    await stopReplica(drained, 'SIGTERM');
    retired.push(drained);
    replicas[0] = await startReplica(redis.url);
    await sleep(step);
    phase = 'kill9';
    log('fault: kill -9 of a replica');
    const killed = replicas[1]!;
    await stopReplica(killed, 'SIGKILL');
    retired.push(killed);
    replicas[1] = await startReplica(redis.url);
    await sleep(step);
    submitting = false;
    stoppedAt = Date.now();
    log('submissions stopped; fetching what was accepted');
    await Promise.all(clients);
    running = false;
    await Promise.all(peers);
    raw.disconnect();
    const rows: FaultReport['rows'] = [];
    for (const p of PHASES) for (const proto of ['v1', 'legacy'] as const) rows.push({ phase: p, protocol: proto, tally: tally(p, proto) });
    return {
      rows,
      wrongAnswers,
      peakRssKb: Math.max(...[...replicas, ...retired].map((r) => r.peakRssKb())),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await Promise.all(replicas.map((r) => stopReplica(r, 'SIGKILL')));
    await redis.close();
  }
}

export function formatReport(report: FaultReport): string {
  const lines = ['phase          protocol  accepted  delivered  lost  refused (status code: count)'];
  for (const { phase, protocol, tally } of report.rows) {
    const refused = [...tally.refused.entries()].map(([code, n]) => `${code}: ${n}`).join(', ') || '-';
    lines.push(
      `${phase.padEnd(14)} ${protocol.padEnd(9)} ${String(tally.accepted).padStart(8)}  ${String(tally.delivered).padStart(9)}  ${String(tally.lost).padStart(4)}  ${refused}`,
    );
  }
  const sum = (proto: 'v1' | 'legacy', field: 'accepted' | 'delivered' | 'lost') =>
    report.rows.filter((r) => r.protocol === proto).reduce((n, r) => n + r.tally[field], 0);
  for (const proto of ['v1', 'legacy'] as const)
    lines.push(`total ${proto}: accepted ${sum(proto, 'accepted')}, delivered ${sum(proto, 'delivered')}, lost ${sum(proto, 'lost')}`);
  lines.push(`wrong answers ${report.wrongAnswers}, peak replica RSS ${(report.peakRssKb / 1024).toFixed(0)} MiB, ${report.seconds.toFixed(1)} s`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' } } });
  const report = await runFaults({ scale: Number(values.scale), log: (line) => console.log(line) });
  console.log(formatReport(report));
  process.exit(0);
}
