// What one held long-poll costs the relay, with nothing else running: relay CPU per re-poll and
// V8 heap per held poll (and optionally a heap snapshot to see what it is made of).
//   node --import tsx bench/held-probe.ts [--total N] [--kinds legacyNode,v1Node,...] [--window S]
//        [--store memory|redis] [--snapshot DIR] [--cpu-prof DIR]
// Starts a relay (dist/src/cli.js, production limits and the step-6 settings), has a load worker
// hold N polls (bench/load-held.ts), then reads the relay's CPU time and the pollers' answers
// over the window. Needs `npm run build` first.
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startServer, LoadWorker, cpuMs, rssMb, childFdLimit } from './procs.js';
import { heldEnv, HELD_MODEL } from './held-polls.js';
import { startRedisServer } from './redis-cost.js';
import { HttpConn } from './http-conn.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    total: { type: 'string', default: '4000' },
    kinds: { type: 'string' },
    window: { type: 'string', default: '15' },
    store: { type: 'string', default: 'memory' },
    snapshot: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const total = Number(args.total);
const windowMs = Number(args.window) * 1000;

async function gauge(url: string, name: string): Promise<number> {
  const conn = HttpConn.fromUrl(url);
  try {
    const answer = await conn.request('GET', '/metrics', undefined, 5000);
    const line = answer.body
      .toString('utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name} `));
    return line === undefined ? NaN : Number(line.split(' ')[1]);
  } finally {
    conn.close();
  }
}

async function main(): Promise<void> {
  const fd = childFdLimit();
  const redis = args.store === 'redis' ? await startRedisServer() : null;
  const port = await freePort();
  const node = [process.execPath, '--heapsnapshot-signal=SIGUSR2', '--expose-gc'];
  if (args['cpu-prof'] !== undefined) node.push('--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: String(port),
    TOKENPLACE_LOG_LEVEL: 'info',
    ...heldEnv(total, fd.limit),
    // With --kinds every poller may be a node: room for all of them.
    TOKENPLACE_RELAY_MAX_NODES: String(total + 1000),
    ...(redis === null ? {} : { TOKENPLACE_RELAY_STORE: 'redis', TOKENPLACE_REDIS_URL: redis.url }),
  };
  const snapDir = args.snapshot ?? mkdtempSync(join(tmpdir(), 'held-probe-'));
  const relay = await startServer('relay', [...node, join(ROOT, 'dist/src/cli.js'), 'serve'], env, port);
  // The relay writes heap snapshots into its working directory: the bench's is ROOT.
  const snapshots = (): string[] => readdirSync(ROOT).filter((f) => f.endsWith('.heapsnapshot'));
  const before = new Set(snapshots());
  const takeSnapshot = async (label: string): Promise<void> => {
    if (args.snapshot === undefined) return;
    const had = new Set(snapshots());
    process.kill(relay.pid, 'SIGUSR2');
    for (let i = 0; i < 600; i += 1) {
      const fresh = snapshots().filter((f) => !had.has(f) && !before.has(f));
      if (fresh.length > 0) {
        // Written as the snapshot is walked: done once its size stops changing.
        const { renameSync, statSync } = await import('node:fs');
        let size = -1;
        while (statSync(join(ROOT, fresh[0]!)).size !== size) {
          size = statSync(join(ROOT, fresh[0]!)).size;
          await sleep(3000);
        }
        renameSync(join(ROOT, fresh[0]!), join(snapDir, `${label}.heapsnapshot`));
        return;
      }
      await sleep(500);
    }
    throw new Error('no heap snapshot appeared');
  };
  const holder = new LoadWorker(ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'held-probe-job-'));
  try {
    await sleep(1000);
    await takeSnapshot('empty');
    const rssStart = rssMb(relay.pid);
    const job = {
      kind: 'hold',
      url: relay.url,
      total,
      perSource: 16,
      addressBlock: 40,
      model: HELD_MODEL,
      parkedModel: 'bench-parked-model',
      cipherChars: 1024,
      stopFile: join(dir, 'stop'),
      readyFile: join(dir, 'ready'),
      maxMs: 60_000 + windowMs + 120_000,
      rampLimitMs: 60_000,
      sample: 0,
      ...(args.kinds === undefined ? {} : { kinds: args.kinds.split(',') }),
    };
    const held = holder.run(job, job.maxMs + 60_000);
    held.catch(() => {});
    while (!existsSync(job.readyFile)) await sleep(200);
    let heldNow = 0;
    for (let i = 0; i < 60; i += 1) {
      heldNow = await gauge(relay.url, 'tokenplace_relay_held_polls');
      if (heldNow >= total * 0.97) break;
      await sleep(500);
    }
    await sleep(6000); // past one hold, so every poller is in its steady loop
    const heldGauge = await gauge(relay.url, 'tokenplace_relay_held_polls');
    const cpu0 = cpuMs(relay.pid);
    const t0 = Date.now();
    const served0 = await served(relay.url);
    await sleep(windowMs);
    const cpu1 = cpuMs(relay.pid);
    const served1 = await served(relay.url);
    const seconds = (Date.now() - t0) / 1000;
    const rssHeld = rssMb(relay.pid);
    await takeSnapshot('held');
    writeFileSync(job.stopFile, '');
    const result = await held;
    const repolls = served1 - served0;
    console.log(
      JSON.stringify({
        total,
        kinds: args.kinds ?? 'all',
        store: args.store,
        heldGauge,
        windowS: Math.round(seconds * 10) / 10,
        answersPerS: Math.round(repolls / seconds),
        relayCpuShare: Math.round(((cpu1 - cpu0) / 1000 / seconds) * 1000) / 1000,
        relayCpuUsPerAnswer: Math.round(((cpu1 - cpu0) * 1000) / repolls),
        rssStartMb: rssStart,
        rssHeldMb: rssHeld,
        kbPerHeld: Math.round((((rssHeld - rssStart) * 1024) / heldNow) * 10) / 10,
        holderErrors: result.errors,
        snapshots: args.snapshot === undefined ? null : snapDir,
      }),
    );
  } finally {
    holder.close();
    await relay.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Requests the relay has answered, from its request counter (every route, every status). */
async function served(url: string): Promise<number> {
  const conn = HttpConn.fromUrl(url);
  try {
    const answer = await conn.request('GET', '/metrics', undefined, 5000);
    let sum = 0;
    for (const line of answer.body.toString('utf8').split('\n')) if (line.startsWith('tokenplace_relay_requests_total{')) sum += Number(line.split(' ').pop());
    return sum;
  } finally {
    conn.close();
  }
}

await main();
