// Step 6: held long-polls at scale. A second load-generator process holds `total` long-polls on
// one relay (bench/load-held.ts: legacy and v1 nodes, legacy and v1 retrieving clients, from many
// loopback sources), while the main load generator drives paced honest round trips of both
// protocols. The same honest traffic first runs with nothing held, on the same relay, so the
// held polls' cost is a same-run difference. Memory store, then Redis store.
//
// The relay runs with the production defaults for rate limits and per-source shares (64 sockets,
// 32 held polls per source); only what a deployment sized for this many peers raises is raised:
// TOKENPLACE_RELAY_MAX_CONNECTIONS (just under the process's file-descriptor limit) and
// TOKENPLACE_RELAY_MAX_NODES. Each honest peer has its own source address.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoadWorker, rssMb, type Server } from './procs.js';
import { loopbackAddress } from './payload.js';
import { startRedisServer } from './redis-cost.js';
import { memoryParts } from './memory-probe.js';
import type { Dist } from './stats.js';

export interface HeldContext {
  root: string;
  worker: LoadWorker;
  /** Starts a relay with production rate limits and shares, plus `env`; `memProbe`: file for bench/mem-probe.mjs. */
  startRelay(name: string, env: Record<string, string>, memProbe?: string): Promise<Server>;
  metricValue(url: string, name: string): Promise<number | null>;
  log(msg: string): void;
  total: number;
  windowMs: number;
  rampLimitMs: number;
  cipherChars: number;
  fdLimit: number;
}

export const HELD_MODEL = 'bench-held-model';
const PER_SOURCE = 16;

/** Settings of the phase, beside the defaults (reported as they are). */
export function heldEnv(total: number, fdLimit: number): Record<string, string> {
  return {
    TOKENPLACE_RELAY_MAX_CONNECTIONS: String(Math.max(1000, fdLimit - 100)),
    TOKENPLACE_RELAY_MAX_NODES: String(Math.ceil(total / 2) + 1000),
    // Parked nodes never poll (polling would claim their requests) and re-registering does not
    // extend a lease: the lease is made longer than the phase so their requests stay queued.
    TOKEN_PLACE_API_V1_RELAY_SERVER_LEASE_SECONDS: '900',
    TOKEN_PLACE_API_V1_IN_FLIGHT_TTL_SECONDS: '30',
    // The bench reads /metrics every second from 127.0.0.1: more than the ops budget a scraper gets.
    TOKENPLACE_RATE_LIMIT_OPS_PER_MINUTE: '100000',
    TOKENPLACE_RATE_LIMIT_OPS_BURST: '1000',
  };
}

interface Honest {
  results: { roundTripsPerS: number; roundTrips: number; errors: Record<string, number>; wrongReply: number; addedMs: Dist }[];
}

function honestJob(url: string, windowMs: number, cipherChars: number): Record<string, unknown> {
  const clients = Array.from({ length: 8 }, (_, i) => loopbackAddress(30, i));
  const nodes = Array.from({ length: 8 }, (_, i) => loopbackAddress(31, i));
  const common = { url, nodes: 8, clients: 8, durationMs: windowMs, warmupMs: 500, cipherChars, pauseMs: 250, clientAddresses: clients, nodeAddresses: nodes };
  return {
    kind: 'parallel',
    jobs: [
      // Round b's nodes are round a's, back again: a legacy node stays listed for three ping
      // intervals after its last poll, and clients must not be sent to one that is gone.
      { kind: 'cycle', cadence: false, tag: 'honest', ...common },
      {
        kind: 'cycleV1',
        model: HELD_MODEL,
        tag: 'honestv1',
        ...common,
        clientAddresses: clients.map((_, i) => loopbackAddress(32, i)),
        nodeAddresses: nodes.map((_, i) => loopbackAddress(33, i)),
      },
    ],
  };
}

function honestSummary(h: Honest): Record<string, unknown> {
  const [legacy, v1] = h.results;
  const errors = (x: { errors: Record<string, number>; wrongReply: number }) => Object.values(x.errors).reduce((a, b) => a + b, 0) + x.wrongReply;
  return {
    legacy: { roundTripsPerS: legacy!.roundTripsPerS, addedMs: legacy!.addedMs, errors: legacy!.errors, wrongReply: legacy!.wrongReply },
    v1: { roundTripsPerS: v1!.roundTripsPerS, addedMs: v1!.addedMs, errors: v1!.errors, wrongReply: v1!.wrongReply },
    errorCount: errors(legacy!) + errors(v1!),
  };
}

async function phase(ctx: HeldContext, store: 'memory' | 'redis'): Promise<Record<string, unknown>> {
  const redis = store === 'redis' ? await startRedisServer() : null;
  const env = { ...heldEnv(ctx.total, ctx.fdLimit), ...(redis === null ? {} : { TOKENPLACE_RELAY_STORE: 'redis', TOKENPLACE_REDIS_URL: redis.url }) };
  const dir = mkdtempSync(join(tmpdir(), 'bench-held-'));
  // The memory parts (V8 heap used and committed, external, native) tell live objects per held
  // poll from heap the collector has not given back.
  const probeFile = join(dir, 'mem.json');
  const relay = await ctx.startRelay(`held-${store}`, env, probeFile);
  const holder = new LoadWorker(ctx.root);
  try {
    const rssStartMb = rssMb(relay.pid);
    const baseline = honestSummary(await ctx.worker.run<Honest>(honestJob(relay.url, ctx.windowMs, ctx.cipherChars), ctx.windowMs + 60_000));
    ctx.log(`  ${store}: honest alone ${JSON.stringify(baseline)}`);
    const stopFile = join(dir, 'stop');
    const readyFile = join(dir, 'ready');
    const holdJob = {
      kind: 'hold',
      url: relay.url,
      total: ctx.total,
      perSource: PER_SOURCE,
      addressBlock: 40,
      model: HELD_MODEL,
      parkedModel: 'bench-parked-model',
      cipherChars: ctx.cipherChars,
      stopFile,
      readyFile,
      maxMs: ctx.rampLimitMs + ctx.windowMs + 90_000,
      rampLimitMs: ctx.rampLimitMs,
      sample: Math.min(200, Math.floor(ctx.total / 4)),
    };
    const held = holder.run(holdJob, holdJob.maxMs + 60_000);
    held.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
    const readyBy = Date.now() + ctx.rampLimitMs + 30_000;
    while (!existsSync(readyFile) && Date.now() < readyBy) await sleep(200);
    // Every poller has sent its first request; wait until the relay counts them held.
    let heldPolls = 0;
    for (let i = 0; i < 40; i += 1) {
      heldPolls = (await ctx.metricValue(relay.url, 'tokenplace_relay_held_polls')) ?? 0;
      if (heldPolls >= ctx.total * 0.95) break;
      await sleep(500);
    }
    const partsHeld = await memoryParts(relay.pid, probeFile);
    ctx.log(`  ${store}: ${heldPolls} polls held, honest traffic starts; memory ${JSON.stringify(partsHeld)}`);
    const rss: number[] = [];
    const held_: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rss.push(rssMb(relay.pid));
        held_.push((await ctx.metricValue(relay.url, 'tokenplace_relay_held_polls')) ?? NaN);
        await sleep(1000);
      }
    })();
    const during = honestSummary(await ctx.worker.run<Honest>(honestJob(relay.url, ctx.windowMs, ctx.cipherChars), ctx.windowMs + 60_000));
    sampling = false;
    await sampler;
    const partsEnd = await memoryParts(relay.pid, probeFile);
    writeFileSync(stopFile, '');
    const holdResult = await held;
    const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${relay.pid}/status`, 'utf8'))?.[1];
    const out = {
      store,
      settings: env,
      rssStartMb,
      rssPeakMb: Math.max(...rss),
      rssHwmMb: hwm === undefined ? null : Math.round(Number(hwm) / 102.4) / 10,
      heldPollsDuringHonest: { min: Math.min(...held_), max: Math.max(...held_) },
      heldPollsBeforeHonest: heldPolls,
      kbPerHeldPoll: heldPolls > 0 ? Math.round(((partsHeld.rssMb - rssStartMb) * 1024) / heldPolls) : null,
      memoryHeld: partsHeld,
      memoryEnd: partsEnd,
      alone: baseline,
      withHeld: during,
      holder: holdResult,
    };
    ctx.log(
      `  ${store}: with ${out.heldPollsDuringHonest.min}-${out.heldPollsDuringHonest.max} held ${JSON.stringify(during)}; rss ${out.rssPeakMb} MB; holder errors ${JSON.stringify(holdResult.errors)}; wake-ups ${String(holdResult.wakeDelivered)}/${String(holdResult.wakeSampled)}`,
    );
    return out;
  } finally {
    holder.close();
    await relay.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function heldStep(ctx: HeldContext, withRedis: boolean): Promise<Record<string, unknown>> {
  const memory = await phase(ctx, 'memory');
  const redis = withRedis ? await phase(ctx, 'redis') : { skipped: 'redis store or redis-server not available' };
  return { total: ctx.total, perSource: PER_SOURCE, memory, redis };
}
