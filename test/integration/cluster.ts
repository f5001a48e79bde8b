// Several relay processes (`node dist/src/cli.js serve`, as deployed) sharing one redis-server
// on loopback, plus a small JSON-over-HTTP client that tells connection errors from answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { freePort, startRedis, type RedisServer } from '../support/redis-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

export interface Replica {
  readonly url: string;
  readonly child: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface Cluster {
  readonly redis: RedisServer;
  readonly replicas: Replica[];
}

export async function startReplica(redisUrl: string, env: Record<string, string> = {}): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port)], {
    env: {
      PATH: process.env.PATH ?? '',
      TOKENPLACE_RELAY_STORE: 'redis',
      TOKENPLACE_REDIS_URL: redisUrl,
      TOKENPLACE_LOG_LEVEL: 'warn',
      // All simulated peers share one loopback address: per-address rate limits would throttle
      // the load these tests need, and they are not what these tests are about.
      TOKENPLACE_RATE_LIMIT: '0',
      // The simulated peers all come from 127.0.0.1: the per-source shares would see one party.
      TOKENPLACE_RELAY_CONNECTIONS_PER_SOURCE: '1000000',
      TOKENPLACE_RELAY_HELD_POLLS_PER_SOURCE: '1000000',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`relay exited with ${child.exitCode}`);
    const res = await fetch(`${url}/healthz`).catch(() => null);
    if (res?.status === 200) break;
    if (Date.now() > deadline) throw new Error('relay did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    child,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

/** redis-server + `count` relay replicas, all stopped after the test; null when skipped. */
export async function startCluster(t: TestContext, count: number, env: Record<string, string> = {}): Promise<Cluster | null> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const redis = await startRedis(t);
  if (redis === null) return null;
  const replicas: Replica[] = [];
  t.after(async () => {
    await Promise.all(replicas.map((r) => r.kill('SIGKILL')));
  });
  for (let i = 0; i < count; i += 1) replicas.push(await startReplica(redis.url, env));
  return { redis, replicas };
}

export type Answer = { ok: true; status: number; body: Record<string, unknown>; headers: Headers } | { ok: false; error: string };

/** POST/GET JSON; `ok: false` only when no HTTP answer came back (refused, reset, timeout). */
export async function call(url: string, body?: unknown, timeoutMs = 15_000, signal?: AbortSignal): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    const text = await res.text();
    return { ok: true, status: res.status, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
  } catch (err) {
    return { ok: false, error: (err as Error).name };
  }
}
