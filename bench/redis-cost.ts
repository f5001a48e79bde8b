// Step 5: what a round trip costs, per store and protocol. The flat-out cycle of step 2a (legacy)
// and its API v1 twin run against a memory-store relay and a Redis-store relay; around each job
// the relay's CPU time (/proc/<pid>/stat) and the redis-server's own INFO counters are read, and
// each is divided by the round trips completed. Then a Redis-store relay takes a flood of
// requests and responses nobody collects: used_memory per entry held.
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuMs, freePort, pinning, rssMb, spawnPinned, type LoadWorker, type Server } from './procs.js';
import { diff, RedisProbe, type RedisWindow } from './redis-info.js';
import { floodEnv, V1_CYCLE_ENV } from './relay-env.js';

export interface RedisServer {
  url: string;
  pid: number;
  probe: RedisProbe;
  stop(): Promise<void>;
}

export function redisInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A throwaway redis-server on a free port, pinned beside the relay, no persistence. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const child = spawnPinned(pinning?.server ?? null, ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    PATH: process.env.PATH,
  });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new RedisProbe(url);
  for (let i = 0; ; i += 1) {
    try {
      await probe.snapshot();
      break;
    } catch (e) {
      if (i > 100 || child.exitCode !== null) throw new Error(`redis-server did not start: ${(e as Error).message}`, { cause: e });
      await sleep(100);
    }
  }
  return {
    url,
    pid: child.pid!,
    probe,
    stop: async () => {
      probe.close();
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    },
  };
}

export interface CostContext {
  worker: LoadWorker;
  startRelay(name: string, env: Record<string, string>): Promise<Server>;
  metricValue(url: string, name: string): Promise<number | null>;
  log(msg: string): void;
  cycleEnv: Record<string, string>;
  windowMs: number;
  warmupMs: number;
  cipherChars: number;
  floodEntries: number;
}

export const COST_MODEL = 'bench-model';

interface CycleOut {
  roundTrips: number;
  roundTripsPerS: number;
  completedTotal: number;
  wrongReply: number;
  errors: Record<string, number>;
  addedMs: Record<string, number>;
}

export interface CostRow {
  store: 'memory' | 'redis';
  protocol: 'legacy' | 'v1';
  roundTripsPerS: number;
  completed: number;
  wrongReply: number;
  errors: Record<string, number>;
  addedMs: Record<string, number>;
  relayCpuUsPerRt: number | null;
  redisCpuUsPerRt: number | null;
  redisMainThreadCpuUsPerRt: number | null;
  redisCommandsPerRt: number | null;
  redisEvalPerRt: number | null;
  /** The commands Redis ran per round trip, most first. */
  redisByCommandPerRt: Record<string, number> | null;
  /** Redis µs per round trip inside scripts, of that in commands, and outside scripts (redis-info.ts, split). */
  redisSplitUsPerRt: { scripts: number; commands: number; rest: number } | null;
}

const per = (x: number, n: number, digits = 1): number | null => (n > 0 && Number.isFinite(x) ? Math.round((x / n) * 10 ** digits) / 10 ** digits : null);

function job(url: string, protocol: 'legacy' | 'v1', ctx: CostContext): Record<string, unknown> {
  const common = { url, nodes: 4, clients: 16, durationMs: ctx.windowMs, warmupMs: ctx.warmupMs, cipherChars: ctx.cipherChars };
  return protocol === 'legacy' ? { kind: 'cycle', cadence: false, ...common } : { kind: 'cycleV1', model: COST_MODEL, ...common };
}

async function measure(ctx: CostContext, relay: Server, redis: RedisServer | null, store: 'memory' | 'redis', protocol: 'legacy' | 'v1'): Promise<CostRow> {
  const before = redis === null ? null : await redis.probe.snapshot();
  const cpuBefore = cpuMs(relay.pid);
  const r = await ctx.worker.run<CycleOut>(job(relay.url, protocol, ctx), ctx.windowMs + ctx.warmupMs + 45_000);
  const relayCpu = cpuMs(relay.pid) - cpuBefore;
  const w: RedisWindow | null = redis === null || before === null ? null : diff(before, await redis.probe.snapshot());
  const n = r.completedTotal;
  const byCommand =
    w === null
      ? null
      : Object.fromEntries(
          Object.entries(w.byCommand)
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => [k, per(v, n, 2)!]),
        );
  const row: CostRow = {
    store,
    protocol,
    roundTripsPerS: r.roundTripsPerS,
    completed: n,
    wrongReply: r.wrongReply,
    errors: r.errors,
    addedMs: r.addedMs,
    relayCpuUsPerRt: per(relayCpu * 1000, n),
    redisCpuUsPerRt: w === null ? null : per(w.cpuUs, n),
    redisMainThreadCpuUsPerRt: w?.mainThreadCpuUs == null ? null : per(w.mainThreadCpuUs, n),
    redisCommandsPerRt: w === null ? null : per(w.commands, n, 2),
    redisEvalPerRt: w === null ? null : per(w.evalCalls, n, 2),
    redisByCommandPerRt: byCommand,
    redisSplitUsPerRt: w === null ? null : { scripts: per(w.split.scriptsUs, n)!, commands: per(w.split.commandsUs, n)!, rest: per(w.split.restUs, n)! },
  };
  ctx.log(
    `  ${store}/${protocol}: ${row.roundTripsPerS} rt/s, relay ${row.relayCpuUsPerRt} µs/rt${redis ? `, redis ${row.redisCpuUsPerRt} µs/rt, ${row.redisCommandsPerRt} commands/rt (${row.redisEvalPerRt} scripts; µs in scripts ${row.redisSplitUsPerRt?.scripts}, of which commands ${row.redisSplitUsPerRt?.commands}, rest ${row.redisSplitUsPerRt?.rest})` : ''}`,
  );
  return row;
}

export async function costStep(ctx: CostContext, haveRedisStore: boolean): Promise<Record<string, unknown>> {
  const rows: CostRow[] = [];
  const env = { ...ctx.cycleEnv, ...V1_CYCLE_ENV };
  const memory = await ctx.startRelay('cost-memory', env);
  try {
    for (const protocol of ['legacy', 'v1'] as const) rows.push(await measure(ctx, memory, null, 'memory', protocol));
  } finally {
    await memory.stop();
  }
  if (!haveRedisStore) return { rows, redis: { skipped: 'redis store not available (src/store/redis.ts is not in this build)' } };
  if (!redisInstalled()) return { rows, redis: { skipped: 'redis-server not installed' } };
  const redis = await startRedisServer();
  try {
    const relay = await ctx.startRelay('cost-redis', { ...env, TOKENPLACE_RELAY_STORE: 'redis', TOKENPLACE_REDIS_URL: redis.url });
    try {
      for (const protocol of ['legacy', 'v1'] as const) rows.push(await measure(ctx, relay, redis, 'redis', protocol));
    } finally {
      await relay.stop();
    }
    return { rows, redisMemory: await redisMemory(ctx, redis) };
  } finally {
    await redis.stop();
  }
}

/** Requests no node claims and responses no client retrieves, held in Redis: bytes per entry. */
async function redisMemory(ctx: CostContext, redis: RedisServer): Promise<Record<string, unknown>> {
  await redis.probe.flushAll();
  const n = ctx.floodEntries;
  const relay = await ctx.startRelay('redis-memory', {
    TOKENPLACE_RELAY_STORE: 'redis',
    TOKENPLACE_REDIS_URL: redis.url,
    ...floodEnv(n),
  });
  try {
    await sleep(500);
    const before = await redis.probe.snapshot();
    const rssBefore = rssMb(relay.pid);
    const flood = await ctx.worker.run<Record<string, number>>(
      { kind: 'flood', url: relay.url, nodes: 10, requests: n, responses: n, connections: 32, cipherChars: ctx.cipherChars, timeLimitMs: 120_000 },
      180_000,
    );
    const after = await redis.probe.snapshot();
    const storedBytes = await ctx.metricValue(relay.url, 'tokenplace_relay_stored_bytes');
    const entries = (flood.requestsAccepted ?? 0) + (flood.responsesAccepted ?? 0);
    const usedPerEntry = entries > 0 ? (after.usedMemory - before.usedMemory) / entries : NaN;
    const storedPerEntry = typeof storedBytes === 'number' && entries > 0 ? storedBytes / entries : NaN;
    const out = {
      entries,
      flood,
      usedMemoryBefore: before.usedMemory,
      usedMemoryAfter: after.usedMemory,
      usedMemoryPerEntryBytes: Math.round(usedPerEntry),
      storedBytesPerEntry: Math.round(storedPerEntry),
      overheadPerEntryBytes: Math.round(usedPerEntry - storedPerEntry),
      relayRssBeforeMb: rssBefore,
      relayRssAfterMb: rssMb(relay.pid),
    };
    ctx.log(
      `  redis memory: ${out.usedMemoryPerEntryBytes} B/entry used_memory (${out.storedBytesPerEntry} stored, ${out.overheadPerEntryBytes} overhead) over ${entries} entries`,
    );
    return out;
  } finally {
    await relay.stop();
  }
}
