// Where a held entry's memory goes: starts a memory-store relay, fills it with legacy requests
// nobody claims and responses nobody retrieves (the bench's memory-step flood, smaller), and
// prints RSS / heap growth per entry above the stored bytes. With --snapshot it also takes V8 heap
// snapshots before and after the flood (--heapsnapshot-signal) and prints the growth per entry
// by node type and constructor, which is what the byte-cap estimate (src/memory/fit.ts) rests on.
//
//   node --import tsx bench/heap-probe.ts [--entries 20000] [--snapshot] [--reference] [--keep DIR] [--flags=--trace-gc-nvp]
// Needs `npm run build` first (runs dist/src/cli.js). --reference probes bench/reference-server.ts
// instead. Snapshots force a full collection and allocate in the probed process, so the RSS row of
// a --snapshot run is not comparable with one without. Figures vary run to run (2 shared cores):
// compare runs made back to back.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { HttpConn } from './http-conn.js';
import { CIPHERKEY, IV, b64ish, cipher, fakeKey } from './payload.js';
import { floodEnv } from './relay-env.js';

const args = parseArgs({
  options: {
    entries: { type: 'string', default: '20000' },
    snapshot: { type: 'boolean', default: false },
    keep: { type: 'string' },
    port: { type: 'string', default: '18931' },
    /** Probe bench/reference-server.ts (bare node:http) instead of the relay. */
    reference: { type: 'boolean', default: false },
    /** Extra node flags for the probed process (e.g. --trace-gc), space separated. */
    flags: { type: 'string', default: '' },
  },
}).values;
const N = Number(args.entries);
const ROOT = new URL('..', import.meta.url).pathname;
const CIPHER_CHARS = 1024;

const dir = args.keep ?? mkdtempSync(join(tmpdir(), 'heap-probe-'));
const probeFile = join(dir, 'memory.json');
const port = Number(args.port);
const url = `http://127.0.0.1:${port}`;
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  RELAY_HOST: '127.0.0.1',
  RELAY_PORT: String(port),
  TOKENPLACE_LOG_LEVEL: 'warn',
  BENCH_MEM_PROBE_FILE: probeFile,
  ...floodEnv(N),
  TOKENPLACE_RELAY_REQUEST_TTL_SECONDS: '600',
  TOKENPLACE_RELAY_RESPONSE_TTL_SECONDS: '600',
  TOKENPLACE_RELAY_CONNECTIONS_PER_SOURCE: '1000000',
  TOKENPLACE_RELAY_HELD_POLLS_PER_SOURCE: '1000000',
};
for (const b of ['CLIENT', 'SUBMIT', 'CLIENT_KEY', 'NODE_ADDRESS', 'NODE', 'OPS']) {
  env[`TOKENPLACE_RATE_LIMIT_${b}_PER_MINUTE`] = '10000000';
  env[`TOKENPLACE_RATE_LIMIT_${b}_BURST`] = '10000000';
}

const probe = [
  ...args.flags.split(' ').filter((f) => f !== ''),
  '--heapsnapshot-signal=SIGUSR2',
  `--diagnostic-dir=${dir}`,
  '--import',
  new URL('./mem-probe.mjs', import.meta.url).href,
];

const child = args.reference
  ? spawn(process.execPath, [...probe, '--import', 'tsx', join(ROOT, 'bench/reference-server.ts')], {
      env: {
        PATH: process.env.PATH,
        REF_PORT: String(port),
        REF_HOLD_MS: '0',
        REF_REQUEST_TTL_MS: '600000',
        REF_RESPONSE_TTL_MS: '600000',
        BENCH_MEM_PROBE_FILE: probeFile,
      },
      cwd: ROOT,
      stdio: ['ignore', args.flags === '' ? 'ignore' : 'inherit', 'inherit'],
    })
  : spawn(process.execPath, [...probe, join(ROOT, 'dist/src/cli.js'), 'serve'], { env, cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
const pid = child.pid!;

async function ready(): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const conn = HttpConn.fromUrl(url);
    try {
      if ((await conn.request('GET', '/healthz', undefined, 1000)).status === 200) return;
    } catch {
      // not yet
    } finally {
      conn.close();
    }
    await sleep(100);
  }
  throw new Error('relay did not start');
}

const rssBytes = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
/** Resident bytes by mapping: the main malloc heap, big anonymous regions (V8's cage, malloc arenas), the rest. */
function mappings(): Record<string, number> {
  const out: Record<string, number> = {};
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) {
      const size = (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1048576;
      const path = head[3]!;
      name = path !== '' ? (path.startsWith('/') ? 'file' : path) : size >= 1024 ? 'anon>=1G' : size >= 60 ? 'anon64M' : 'anon<64M';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) out[name] = (out[name] ?? 0) + Number(rss[1]) * 1024;
  }
  return out;
}

const usage = async (): Promise<Record<string, number>> => {
  await sleep(600);
  const maps = Object.fromEntries(Object.entries(mappings()).map(([k, v]) => [`map ${k}`, v]));
  return { rss: rssBytes(), ...maps, ...(JSON.parse(readFileSync(probeFile, 'utf8')) as Record<string, number>) };
};
async function metric(name: string): Promise<number> {
  const conn = HttpConn.fromUrl(url);
  try {
    const text = (await conn.request('GET', '/metrics', undefined, 5000)).body.toString('utf8');
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  } finally {
    conn.close();
  }
}

async function snapshot(): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    await sleep(500);
    const fresh = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (fresh.length > 0) {
      const file = join(dir, fresh[0]!);
      // written when its size stops changing and it parses
      try {
        const text = readFileSync(file, 'utf8');
        JSON.parse(text);
        return file;
      } catch {
        // still being written
      }
    }
  }
}

/** Self size and count per "type:name" (strings by representation, objects by constructor). */
function bySort(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name = snap.strings[snap.nodes[i + nameAt]!]!;
    const key = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' ? type : `${type}:${name.slice(0, 60)}`;
    const row = out.get(key) ?? { size: 0, count: 0 };
    row.size += snap.nodes[i + sizeAt]!;
    row.count += 1;
    out.set(key, row);
  }
  return out;
}

async function flood(): Promise<{ requests: number; responses: number }> {
  const filler = b64ish(CIPHER_CHARS, 5);
  const conns = Array.from({ length: 16 }, () => HttpConn.fromUrl(url));
  const nodeKeys = Array.from({ length: 10 }, (_, n) => fakeKey('floodnode', n));
  const claimer = fakeKey('floodclaimer', 0);
  for (const key of [...nodeKeys, claimer]) await conns[0]!.request('POST', '/sink', { server_public_key: key }, 10_000);
  let requests = 0;
  let responses = 0;
  let next = 0;
  await Promise.all(
    conns.map(async (conn) => {
      while (next < N) {
        const i = next++;
        const body = {
          server_public_key: nodeKeys[i % nodeKeys.length],
          client_public_key: fakeKey('floodclient', i),
          chat_history: cipher(i, CIPHER_CHARS, filler),
          cipherkey: CIPHERKEY,
          iv: IV,
        };
        if ((await conn.request('POST', '/faucet', body, 10_000)).status === 200) requests += 1;
      }
    }),
  );
  next = 0;
  await Promise.all(
    conns.map(async (conn) => {
      while (next < N) {
        const i = next++;
        const reader = fakeKey('floodreader', i);
        await conn.request(
          'POST',
          '/faucet',
          { server_public_key: claimer, client_public_key: reader, chat_history: cipher(i, 16, filler), cipherkey: CIPHERKEY, iv: IV },
          10_000,
        );
        const claimed = JSON.parse((await conn.request('POST', '/sink', { server_public_key: claimer }, 10_000)).body.toString('utf8')) as Record<
          string,
          unknown
        >;
        const body = { client_public_key: claimed.client_public_key, chat_history: cipher(i, CIPHER_CHARS, filler), cipherkey: CIPHERKEY, iv: IV };
        if ((await conn.request('POST', '/source', body, 10_000)).status === 200) responses += 1;
      }
    }),
  );
  for (const conn of conns) conn.close();
  return { requests, responses };
}

try {
  await ready();
  await sleep(1000);
  const before = await usage();
  const snapBefore = args.snapshot ? await snapshot() : null;
  const t = Date.now();
  const done = await flood();
  const floodS = (Date.now() - t) / 1000;
  const after = await usage();
  // The reference holds the same payloads but has no metrics: the relay's figure for this flood.
  const stored = args.reference ? 1837 * (done.requests + done.responses) : await metric('tokenplace_relay_stored_bytes');
  const entries = done.requests + done.responses;
  const per = (k: string) => Math.round((after[k]! - before[k]!) / entries);
  const storedPer = Math.round(stored / entries);
  const row = {
    entries,
    floodS,
    storedPerEntry: storedPer,
    rssPerEntry: per('rss'),
    rssAboveStored: per('rss') - storedPer,
    heapUsedPerEntry: per('heapUsed'),
    heapUsedAboveStored: per('heapUsed') - storedPer,
    heapTotalPerEntry: per('heapTotal'),
    externalPerEntry: per('external'),
    mapsPerEntry: Object.fromEntries(
      Object.keys(after)
        .filter((k) => k.startsWith('map '))
        .map((k) => [k.slice(4), Math.round((after[k]! - (before[k] ?? 0)) / entries)]),
    ),
    mb: Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Math.round((v / 1048576) * 10) / 10])),
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
  if (snapBefore !== null) {
    const snapAfter = await snapshot();
    const a = bySort(snapBefore);
    const b = bySort(snapAfter);
    const rows = [...b.entries()]
      .map(([key, v]) => ({ key, bytes: (v.size - (a.get(key)?.size ?? 0)) / entries, count: (v.count - (a.get(key)?.count ?? 0)) / entries }))
      .filter((r) => Math.abs(r.bytes) >= 2)
      .sort((x, y) => y.bytes - x.bytes);
    const total = rows.reduce((s, r) => s + r.bytes, 0);
    process.stdout.write(`heap snapshot growth per entry (self size), total ${total.toFixed(0)} B:\n`);
    for (const r of rows.slice(0, 40)) process.stdout.write(`  ${r.bytes.toFixed(1).padStart(8)} B  ${r.count.toFixed(2).padStart(6)}×  ${r.key}\n`);
  }
} finally {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  if (args.keep === undefined) rmSync(dir, { recursive: true, force: true });
}
