// What the attack scripts of bench/abuse share: the built relay as a child process on a free
// loopback port (memory store, or a real redis-server with --redis), its memory from /proc, and a
// tally of answers by status and code. Every attack is bounded by its caller in time and count.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { launchRedis, type RedisServer } from '../../test/support/redis-server.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

export async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Peak (VmHWM) and current RSS of a process, MiB. */
export function memoryOf(pid: number): { hwmMiB: number; rssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { hwmMiB: Math.round(kb('VmHWM') / 1024), rssMiB: Math.round(kb('VmRSS') / 1024) };
}

/** Counts answers by "status code" (the body's `code`, or `error.code` as API v1 sends it). */
export class Tally {
  readonly counts = new Map<string, number>();
  add(status: number, body: Record<string, unknown> | null): void {
    const nested = (body?.error as { code?: unknown } | undefined)?.code;
    const code = typeof body?.code === 'string' ? body.code : typeof nested === 'string' ? nested : status === 200 ? 'ok' : 'no-code';
    const key = `${status} ${code}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  text(): string {
    return (
      [...this.counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ') || '(nothing sent)'
    );
  }
}

export interface RunningRelay {
  url: string;
  port: number;
  process: ChildProcess;
  redis: RedisServer | null;
  stop(): Promise<void>;
}

/** TOKENPLACE_* variables of this process, passed on to the relay (a caller can shrink a cap). */
function inheritedSettings(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (name.startsWith('TOKENPLACE_') && value !== undefined) out[name] = value;
  return out;
}

/** Starts dist/src/cli.js serve with `env` on a free port and waits for /livez. */
export async function startRelay(opts: { redis: boolean; env?: Record<string, string> }): Promise<RunningRelay> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    RELAY_HOST: '127.0.0.1',
    TOKENPLACE_LOG_LEVEL: 'error',
    ...opts.env,
    ...inheritedSettings(),
  };
  const redis = opts.redis ? await launchRedis('redis-server') : null;
  if (redis !== null)
    Object.assign(env, { TOKENPLACE_RELAY_STORE: 'redis', TOKENPLACE_REDIS_URL: redis.url, TOKENPLACE_REDIS_PREFIX: `attack:${process.pid}:` });
  const port = await freePort();
  env.RELAY_PORT = String(port);
  const child = spawn(process.execPath, [CLI, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    try {
      if ((await fetch(`${url}/livez`)).ok) break;
    } catch {
      // not up yet
    }
    if (i > 300 || child.exitCode !== null) throw new Error('relay did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    process: child,
    redis,
    stop: async () => {
      await stopChild(child);
      await redis?.stop();
    },
  };
}

/** One attack's outcome, for the closing `RESULT` line that test/integration/attacks.test.ts reads. */
export interface Finding {
  attack: string;
  relayUp: boolean;
  peakRssMiB: number;
  honestOk: number;
  honestFailed: number;
  /** The attacker's answers, "status code" -> count. */
  attacker: Record<string, number>;
}

export const findings: Finding[] = [];

/** The machine-readable summary, printed last by every attack script. */
export function printFindings(script: string): void {
  console.log(`RESULT ${JSON.stringify({ script, findings })}`);
}
