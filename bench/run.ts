// npm run bench [-- --quick] [-- --url URL] [-- --profile] [-- --only 6] [-- --held N]
// Measures the relay beside a bare-Node reference in the same run (see bench/README.md) and
// writes bench/results/<date>.json and .md. Exits 0 whether targets are met or missed; non-zero
// only when the bench itself breaks.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { HttpConn } from './http-conn.js';
import { childFdLimit, cpuMs, freePort, LoadWorker, pinning, rssMb, startServer, type Server } from './procs.js';
import { markdown, oneLine, evaluate } from './report.js';
import { costStep, redisInstalled } from './redis-cost.js';
import { heldStep } from './held-polls.js';
import { memoryParts, type MemoryParts } from './memory-probe.js';
import type { Dist } from './stats.js';
import { CYCLE_ENV, fitOf, floodEnv, MAX_BENCH_NODES, NO_REFUSALS } from './relay-env.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    url: { type: 'string' },
    profile: { type: 'boolean', default: false },
    report: { type: 'string' },
    held: { type: 'string' },
  },
  strict: true,
});
const quick = args.quick;
/**
 * File descriptors a child may open: spawnPinned raises every child's limit as far as it may
 * (bench/procs.ts). The relay needs one per held poll plus its own; held polls in the full run
 * stay below 90 % of the connection cap set from it (where the relay starts closing idle sockets),
 * so where the hard limit cannot be raised (20,000 without CAP_SYS_RESOURCE) the step holds fewer.
 * `--held N` sets the count (quick or full); it is still capped by the limit.
 */
const FD = childFdLimit();
const FD_LIMIT = FD.limit;
const HELD_CAP = Math.max(100, Math.floor(((FD_LIMIT - 100) * 0.9 - 200) / 100) * 100);
const HELD_ASKED = args.held === undefined ? null : Number(args.held);
if (HELD_ASKED !== null && !(Number.isInteger(HELD_ASKED) && HELD_ASKED > 0)) throw new Error('--held takes a positive integer');
const HELD_FULL = Math.min(HELD_ASKED ?? 20_000, HELD_CAP);
const externalUrl = args.url;

const P = quick
  ? {
      healthzConns: [1, 16, 64, 256],
      healthzMs: 1000,
      healthzWarm: 200,
      flatMs: 2500,
      flatWarm: 500,
      cadenceMs: 6000,
      flood: 10_000,
      floodTtlS: 8,
      rssSettleS: 25,
      idle: 2000,
      silent: 1000,
      probeMs: 2000,
      redisMs: 2500,
      redisWarm: 500,
      redisFlood: 5000,
      held: HELD_ASKED === null ? Math.min(2000, HELD_FULL) : HELD_FULL,
      heldMs: 4000,
      heldRampMs: 20_000,
    }
  : {
      healthzConns: [1, 16, 64, 256],
      healthzMs: 5000,
      healthzWarm: 1000,
      flatMs: 15_000,
      flatWarm: 2000,
      cadenceMs: 40_000,
      flood: 100_000,
      floodTtlS: 75,
      rssSettleS: 90,
      idle: 10_000,
      silent: 5000,
      probeMs: 5000,
      redisMs: 15_000,
      redisWarm: 2000,
      redisFlood: 25_000,
      held: HELD_FULL,
      heldMs: 20_000,
      heldRampMs: 60_000,
    };
const CIPHER_CHARS = 1024; // ~1 KB of base64 ciphertext per message

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)}s`;
const log = (msg: string): void => void process.stderr.write(`[bench ${elapsed()}] ${msg}\n`);

const relayBin = join(ROOT, 'dist/src/cli.js');
function relayEnv(port: number, extra: Record<string, string> = {}, production = false): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: String(port),
    // The production level: a line per request that did work, written (to /dev/null) as in a pod.
    TOKENPLACE_LOG_LEVEL: 'info',
    ...(production ? {} : NO_REFUSALS),
    ...extra,
  };
  return env;
}

let profileSeq = 0;
/** `production`: the default rate limits and per-source shares; `memProbe`: preload bench/mem-probe.mjs. */
async function startRelay(name: string, extra: Record<string, string> = {}, opts: { production?: boolean; memProbe?: string } = {}): Promise<Server> {
  const port = await freePort();
  const node = [process.execPath];
  if (opts.memProbe !== undefined) {
    node.push('--import', pathToFileURL(join(ROOT, 'bench/mem-probe.mjs')).href);
    extra = { ...extra, BENCH_MEM_PROBE_FILE: opts.memProbe };
  }
  if (args.profile)
    node.push(
      '--cpu-prof',
      `--cpu-prof-dir=${join(ROOT, 'bench/results/profiles')}`,
      `--cpu-prof-name=relay-${++profileSeq}-${name.replace(/\W+/g, '_')}.cpuprofile`,
    );
  const env = relayEnv(port, extra, opts.production === true);
  // The relay would lower its byte cap to fit the heap (src/memory/fit.ts): a step whose entry caps
  // leave no room would measure refusals for want of bytes, so it stops here; a lowered cap is said.
  const fit = fitOf(env);
  if (fit.entryCapsTooLarge)
    throw new Error(
      `${name}: the entry caps alone (${(fit.overheadBytes / 2 ** 20).toFixed(0)} MiB estimated) exceed the heap; the relay would run with a 1 MiB byte cap`,
    );
  if (fit.lowered) log(`  ${name}: the relay lowers its byte cap to ${(fit.chosenStoredBytes / 2 ** 20).toFixed(0)} MiB to fit the heap`);
  return startServer(name, [...node, relayBin, 'serve'], env, port);
}
async function startReference(extra: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  return startServer(
    'reference',
    [process.execPath, '--import', 'tsx', join(ROOT, 'bench/reference-server.ts')],
    { PATH: process.env.PATH, REF_PORT: String(port), ...extra },
    port,
  );
}
function external(url: string): Server {
  return { name: 'relay', url: url.replace(/\/$/, ''), pid: 0, child: undefined as never, stderr: () => '', stop: async () => {} };
}

async function metricValue(url: string, name: string): Promise<number | null> {
  const conn = HttpConn.fromUrl(url);
  try {
    const answer = await conn.request('GET', '/metrics', undefined, 5000);
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(answer.body.toString('utf8'));
    return match === null ? null : Number(match[1]);
  } catch {
    return null;
  } finally {
    conn.close();
  }
}

type Pair<T> = { relay: T | null; reference: T | null };
const results: Record<string, unknown> = {};
const errors: string[] = [];
let worker = new LoadWorker(ROOT);

/** `--only 5,6`: run just those steps (the others are reported as skipped). */
const only = args.only === undefined ? null : new Set(args.only.split(',').map((x) => x.trim()));
async function step<T>(name: string, body: () => Promise<T>): Promise<T | null> {
  if (only !== null && !only.has(name.split(' ')[0]!.replace(/[a-z]$/, ''))) {
    log(`step ${name} skipped (--only)`);
    return null;
  }
  log(`step ${name}`);
  try {
    return await body();
  } catch (e) {
    const message = (e as Error).message;
    log(`step ${name} broke: ${message}`);
    errors.push(`${name}: ${message}`);
    worker.close();
    worker = new LoadWorker(ROOT);
    return null;
  }
}

// ---------- steps ----------
type HealthzResult = { connections: number; requests: number; served: number; errors: number; rps: number; latencyMs: Dist; serverCpuUsPerOp?: number | null };
type CycleResult = {
  completedTotal: number;
  serverCpuUsPerOp?: number | null;
  roundTrips: number;
  roundTripsPerS: number;
  errors: Record<string, number>;
  pickupMs: Dist;
  deliveryMs: Dist;
  addedMs: Dist;
  clientObservedMs: Dist;
  wrongReply: number;
};

/**
 * Runs one load job and adds the server's CPU time per answered request (µs): a figure that does
 * not depend on whether the load generator or the server set the pace.
 */
async function measured<T extends Record<string, unknown>>(
  server: Server,
  job: Record<string, unknown>,
  limitMs: number,
  served: (r: T) => number,
): Promise<T & { serverCpuUsPerOp: number | null }> {
  const before = cpuMs(server.pid);
  const result = await worker.run<T>(job, limitMs);
  const used = cpuMs(server.pid) - before;
  const ops = served(result);
  return { ...result, serverCpuUsPerOp: Number.isFinite(used) && ops > 0 ? Math.round((used * 1000 * 10) / ops) / 10 : null };
}

async function healthzStep(relay: Server, reference: Server): Promise<Record<string, Pair<HealthzResult>>> {
  const out: Record<string, Pair<HealthzResult>> = {};
  for (const connections of P.healthzConns) {
    // Warm-up requests are not in `requests` but are served: CPU per request counts all of them.
    const job = (url: string) => ({ kind: 'healthz', url, connections, durationMs: P.healthzMs, warmupMs: P.healthzWarm });
    const limit = P.healthzMs + P.healthzWarm + 20_000;
    const served = (r: HealthzResult): number => r.served;
    out[connections] = { relay: await measured(relay, job(relay.url), limit, served), reference: await measured(reference, job(reference.url), limit, served) };
    log(`  /healthz c=${connections}: relay ${out[connections].relay!.rps}/s, reference ${out[connections].reference!.rps}/s`);
  }
  return out;
}

function cycleJob(url: string, cadence: boolean) {
  return cadence
    ? { kind: 'cycle', url, nodes: MAX_BENCH_NODES, clients: 50, durationMs: P.cadenceMs, warmupMs: 0, cadence: true, cipherChars: CIPHER_CHARS }
    : { kind: 'cycle', url, nodes: 4, clients: 16, durationMs: P.flatMs, warmupMs: P.flatWarm, cadence: false, cipherChars: CIPHER_CHARS };
}
const cycleLimit = (cadence: boolean): number => (cadence ? P.cadenceMs : P.flatMs + P.flatWarm) + 45_000;

async function cycleStep(relay: Server, reference: Server, cadence: boolean): Promise<Pair<CycleResult>> {
  let r: CycleResult;
  let ref: CycleResult;
  if (cadence) {
    // About 17 requests/s each: relay and reference run side by side without disturbing each other.
    const both = await worker.run<{ results: CycleResult[] }>(
      { kind: 'parallel', jobs: [cycleJob(relay.url, true), cycleJob(reference.url, true)] },
      cycleLimit(true),
    );
    [r, ref] = both.results as [CycleResult, CycleResult];
  } else {
    const served = (x: CycleResult): number => x.completedTotal;
    r = await measured(relay, cycleJob(relay.url, cadence), cycleLimit(cadence), served);
    ref = await measured(reference, cycleJob(reference.url, cadence), cycleLimit(cadence), served);
  }
  log(
    `  relay ${r.roundTripsPerS} rt/s added p50 ${r.addedMs.p50} p99 ${r.addedMs.p99}; reference ${ref.roundTripsPerS} rt/s added p50 ${ref.addedMs.p50} p99 ${ref.addedMs.p99}`,
  );
  return { relay: r, reference: ref };
}

interface MemorySide {
  parts?: Record<string, MemoryParts>;
  rssStartMb: number;
  rssAfterFloodMb: number;
  rssAfterExpiryMb: number;
  rssTraceAfterExpiryMb: number[];
  settleSeconds: number;
  flood: Record<string, unknown>;
  heldAfterFlood?: Record<string, number | null>;
  heldAfterExpiry?: Record<string, number | null>;
}

async function memoryStep(): Promise<Pair<MemorySide>> {
  const ttl = String(P.floodTtlS);
  const probeDir = mkdtempSync(join(tmpdir(), 'bench-mem-'));
  const probeFile = join(probeDir, 'memory.json');
  const relay = await startRelay(
    'memory',
    {
      ...floodEnv(P.flood),
      TOKENPLACE_RELAY_REQUEST_TTL_SECONDS: ttl,
      TOKENPLACE_RELAY_RESPONSE_TTL_SECONDS: ttl,
    },
    { memProbe: probeFile },
  );
  const reference = await startReference({ REF_HOLD_MS: '0', REF_REQUEST_TTL_MS: String(P.floodTtlS * 1000), REF_RESPONSE_TTL_MS: String(P.floodTtlS * 1000) });
  try {
    await sleep(1000);
    const side = {
      relay: { rssStartMb: rssMb(relay.pid), parts: { start: await memoryParts(relay.pid, probeFile) } },
      reference: { rssStartMb: rssMb(reference.pid) },
    } as Record<'relay' | 'reference', Partial<MemorySide>>;
    const floodJob = (url: string) => ({
      kind: 'flood',
      url,
      nodes: 10,
      requests: P.flood,
      responses: P.flood,
      connections: 32,
      cipherChars: CIPHER_CHARS,
      timeLimitMs: P.floodTtlS * 1000 - 5000,
    });
    const held = async (): Promise<Record<string, number | null>> => ({
      queuedRequests: await metricValue(relay.url, 'tokenplace_relay_queued_requests'),
      storedResponses: await metricValue(relay.url, 'tokenplace_relay_stored_responses'),
      storedBytes: await metricValue(relay.url, 'tokenplace_relay_stored_bytes'),
    });
    // Relay first; the reference floods while the relay's TTLs run down.
    const relayFloodStart = Date.now();
    side.relay.flood = await worker.run(floodJob(relay.url), P.floodTtlS * 1000 + 30_000);
    side.relay.rssAfterFloodMb = rssMb(relay.pid);
    side.relay.heldAfterFlood = await held();
    side.relay.parts!.afterFlood = await memoryParts(relay.pid, probeFile);
    log(`  relay flood ${JSON.stringify(side.relay.flood)} rss ${side.relay.rssStartMb} → ${side.relay.rssAfterFloodMb} MB`);
    const refFloodStart = Date.now();
    side.reference.flood = await worker.run(floodJob(reference.url), P.floodTtlS * 1000 + 30_000);
    side.reference.rssAfterFloodMb = rssMb(reference.pid);
    log(`  reference flood ${JSON.stringify(side.reference.flood)} rss ${side.reference.rssStartMb} → ${side.reference.rssAfterFloodMb} MB`);
    // Every entry has expired one TTL after its flood began plus the flood itself plus sweeps.
    // V8 hands freed pages back only when its memory reducer runs, some seconds after the heap
    // stops changing, so RSS is sampled each second for up to rssSettleS after expiry; sampling
    // stops early once RSS is back within 10% of where it started.
    const settle = async (srv: Server, from: number, floodS: number, target: Partial<MemorySide>): Promise<void> => {
      const at = from + (floodS + P.floodTtlS + 3) * 1000;
      await sleep(Math.max(0, at - Date.now()));
      if (srv === relay) target.heldAfterExpiry = await held();
      const trace: number[] = [rssMb(srv.pid)];
      while (trace.length <= P.rssSettleS && trace[trace.length - 1]! > target.rssStartMb! * 1.1) {
        await sleep(1000);
        trace.push(rssMb(srv.pid));
      }
      target.rssTraceAfterExpiryMb = trace;
      target.rssAfterExpiryMb = trace[trace.length - 1];
      target.settleSeconds = trace.length - 1;
    };
    await Promise.all([
      settle(relay, relayFloodStart, Number(side.relay.flood?.seconds), side.relay),
      settle(reference, refFloodStart, Number(side.reference.flood?.seconds), side.reference),
    ]);
    side.relay.parts!.afterExpiry = await memoryParts(relay.pid, probeFile);
    log(`  relay memory parts ${JSON.stringify(side.relay.parts)}`);
    log(`  relay after expiry ${side.relay.rssAfterExpiryMb} MB after ${side.relay.settleSeconds} s (${JSON.stringify(side.relay.heldAfterExpiry)})`);
    log(`  reference after expiry ${side.reference.rssAfterExpiryMb} MB after ${side.reference.settleSeconds} s`);
    return side as Pair<MemorySide>;
  } finally {
    await relay.stop();
    await reference.stop();
    rmSync(probeDir, { recursive: true, force: true });
  }
}

async function idleStep(relay: Server, reference: Server): Promise<Pair<Record<string, unknown>>> {
  const job = (url: string) => ({ kind: 'idle', url, idle: P.idle, silent: P.silent, probeConnections: 16, durationMs: P.probeMs, openLimitMs: 60_000 });
  const r = await worker.run(job(relay.url), P.probeMs + 90_000);
  log(`  relay ${JSON.stringify(r)}`);
  const ref = await worker.run(job(reference.url), P.probeMs + 90_000);
  log(`  reference ${JSON.stringify(ref)}`);
  return { relay: r, reference: ref };
}

const haveRedisStore = (): boolean => existsSync(join(ROOT, 'src/store/redis.ts')) && existsSync(join(ROOT, 'dist/src/store/redis.js'));

async function redisCostStep(): Promise<Record<string, unknown>> {
  return costStep(
    {
      worker,
      startRelay: (name, env) => startRelay(name, env),
      metricValue,
      log,
      cycleEnv: CYCLE_ENV,
      windowMs: P.redisMs,
      warmupMs: P.redisWarm,
      cipherChars: CIPHER_CHARS,
      floodEntries: P.redisFlood,
    },
    haveRedisStore(),
  );
}

async function heldPollsStep(): Promise<Record<string, unknown>> {
  return heldStep(
    {
      root: ROOT,
      worker,
      startRelay: (name, env, memProbe) => startRelay(name, env, { production: true, memProbe }),
      metricValue,
      log,
      total: P.held,
      windowMs: P.heldMs,
      rampLimitMs: P.heldRampMs,
      cipherChars: CIPHER_CHARS,
      fdLimit: FD_LIMIT,
    },
    haveRedisStore() && redisInstalled(),
  );
}

// ---------- main ----------
async function main(): Promise<number> {
  if (externalUrl === undefined && !existsSync(relayBin)) throw new Error('dist/src/cli.js is missing: run `npm run build` (npm run bench does)');
  const machine = {
    cpus: availableParallelism(),
    node: process.version,
    pinning,
    loadavgBefore: loadavg().map((x) => Math.round(x * 100) / 100),
    loadavgAfter: [] as number[],
  };
  log(`quick=${quick} pinning=${JSON.stringify(pinning)} load average ${machine.loadavgBefore.join(' ')}`);
  log(
    `file descriptors per child ${FD_LIMIT} (inherited hard limit ${FD.inheritedHard}, ${FD.raised ? 'raised' : 'could not be raised'}); held polls ${P.held}${P.held < (HELD_ASKED ?? (quick ? 2000 : 20_000)) ? ` (capped by the limit at ${HELD_CAP})` : ''}`,
  );

  const relay = externalUrl !== undefined ? external(externalUrl) : await startRelay('main', CYCLE_ENV);
  const reference = await startReference();
  try {
    results.healthz = await step('1 /healthz', () => healthzStep(relay, reference));
    results.cycleFlat = await step('2a flat-out cycle', () => cycleStep(relay, reference, false));
    results.cycleCadence = await step('2b real cadences', () => cycleStep(relay, reference, true));
    results.idle = await step('4 idle and silent connections', () => idleStep(relay, reference));
  } finally {
    await relay.stop();
    await reference.stop();
  }
  results.memory = externalUrl !== undefined ? { skipped: 'needs to own the relay process (--url given)' } : await step('3 memory', memoryStep);
  const owned = (name: string, body: () => Promise<Record<string, unknown>>) =>
    externalUrl !== undefined ? Promise.resolve({ skipped: 'needs to own the relay process (--url given)' }) : step(name, body);
  results.redisCost = await owned('5 cost per round trip, memory and redis stores', redisCostStep);
  results.held = await owned('6 held long-polls at scale', heldPollsStep);
  worker.close();

  machine.loadavgAfter = loadavg().map((x) => Math.round(x * 100) / 100);
  const date = new Date().toISOString().slice(0, 10);
  const seconds = Math.round((Date.now() - started) / 1000);
  const targets = evaluate(results);
  const report = {
    date,
    quick,
    externalUrl: externalUrl ?? null,
    seconds,
    machine: { ...machine, fdLimit: FD_LIMIT, fdHardInherited: FD.inheritedHard, fdRaised: FD.raised, heldCap: HELD_CAP, heldAsked: HELD_ASKED },
    params: P,
    targets,
    results,
    errors,
  };
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, quick ? `${date}-quick` : date);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(report));
  log(`wrote ${base.slice(ROOT.length + 1)}.json and .md`);
  process.stdout.write(`${oneLine(report)}\n`);
  return errors.length === 0 ? 0 : 1;
}

/** `--report results/<date>.json`: rewrites the Markdown summary of an earlier run. */
function rewriteReport(file: string): number {
  const report = JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof markdown>[0];
  report.targets = evaluate(report.results as Parameters<typeof evaluate>[0]);
  writeFileSync(file.replace(/\.json$/, '.md'), markdown(report));
  process.stdout.write(`${oneLine(report)}\n`);
  return 0;
}

(args.report !== undefined ? Promise.resolve(rewriteReport(args.report)) : main()).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench broke: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
