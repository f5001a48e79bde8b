// The legacy flat-out cycle of step 2a (K=4 nodes, C=16 clients) against several servers in
// turn, repeated: relay builds or settings side by side, the bare-Fastify floor
// (bench/reference-fastify.ts) and the node:http reference. On a shared machine a single run is
// noise; interleaved repeats and medians of the server's CPU per round trip (/proc, user+sys)
// are what compare.
//
//   node --import tsx bench/cycle-ab.ts [--reps 5] [--ms 3000] [--floor] \
//     [--relay name=path/to/cli.js[;ENV:value;…]]… [--profile DIR]
//
// --profile DIR: each relay writes DIR/<name>.cpuprofile and the number of requests it served is
// printed, for bench/profile-stages.ts.
//
// Without --relay: one relay, dist/src/cli.js. Every relay runs at log level info with the rate
// limits on (budgets raised so one source is never refused, bench/relay-env.ts) unless its
// ENV:value pairs say otherwise, e.g. `--relay warn=dist/src/cli.js;TOKENPLACE_LOG_LEVEL:warn`.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuMs, freePort, LoadWorker, startServer, type Server } from './procs.js';
import { CYCLE_ENV, NO_REFUSALS } from './relay-env.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    ms: { type: 'string', default: '3000' },
    floor: { type: 'boolean', default: false },
    relay: { type: 'string', multiple: true },
    profile: { type: 'string' },
  },
});
const reps = Number(values.reps);
const ms = Number(values.ms);
const sysMs = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[12]) * 10;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const servers: Server[] = [];
const relays: string[] = [];
for (const spec of values.relay ?? [`relay=${join(ROOT, 'dist/src/cli.js')}`]) {
  const [name, rest] = spec.split(/=(.*)/s) as [string, string];
  const [cli, ...pairs] = rest.split(';');
  const env = Object.fromEntries(pairs.map((p) => p.split(/:(.*)/s).slice(0, 2) as [string, string]));
  const port = await freePort();
  const base = { PATH: process.env.PATH, RELAY_HOST: '127.0.0.1', RELAY_PORT: String(port), TOKENPLACE_LOG_LEVEL: 'info', ...NO_REFUSALS, ...CYCLE_ENV };
  const prof = values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(values.profile)}`, `--cpu-prof-name=${name}.cpuprofile`];
  servers.push(await startServer(name, [process.execPath, ...prof, resolve(cli!), 'serve'], { ...base, ...env }, port));
  relays.push(name);
}
const reference = async (name: string, file: string): Promise<void> => {
  const port = await freePort();
  servers.push(
    await startServer(name, [process.execPath, '--import', 'tsx', join(ROOT, 'bench', file)], { PATH: process.env.PATH, REF_PORT: String(port) }, port),
  );
};
if (values.floor) await reference('fastify', 'reference-fastify.ts');
await reference('reference', 'reference-server.ts');

type Out = { roundTripsPerS: number; completedTotal: number; errors: Record<string, number> };
const worker = new LoadWorker(ROOT);
const seen = new Map<string, { rt: number[]; cpu: number[]; sys: number[] }>();
try {
  for (let i = 0; i < reps; i++) {
    for (const server of servers) {
      const cpu0 = cpuMs(server.pid);
      const sys0 = sysMs(server.pid);
      const job = { kind: 'cycle', url: server.url, nodes: 4, clients: 16, durationMs: ms, warmupMs: 1000, cadence: false, cipherChars: 1024 };
      const r = await worker.run<Out>(job, ms + 60_000);
      const cpu = ((cpuMs(server.pid) - cpu0) * 1000) / r.completedTotal;
      const sys = ((sysMs(server.pid) - sys0) * 1000) / r.completedTotal;
      const row = seen.get(server.name) ?? { rt: [], cpu: [], sys: [] };
      row.rt.push(r.roundTripsPerS);
      row.cpu.push(cpu);
      row.sys.push(sys);
      seen.set(server.name, row);
      process.stderr.write(
        `${server.name.padEnd(10)} ${r.roundTripsPerS.toFixed(0).padStart(6)} rt/s ${cpu.toFixed(0).padStart(5)} µs/rt (sys ${sys.toFixed(0)}) ${JSON.stringify(r.errors)}\n`,
      );
    }
  }
  for (const server of servers.filter((s) => relays.includes(s.name))) {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const served = text
      .split('\n')
      .filter((l) => l.startsWith('tokenplace_relay_requests_total{'))
      .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    process.stderr.write(`${server.name}: ${served} requests served\n`);
  }
} finally {
  worker.close();
  for (const server of servers) await server.stop();
}
const ref = median(seen.get('reference')!.rt);
const refCpu = median(seen.get('reference')!.cpu);
console.log(`| server | rt/s (median of ${reps}) | × reference rt/s | CPU µs/rt | of which sys | × reference CPU |\n|---|---:|---:|---:|---:|---:|`);
for (const [name, row] of seen) {
  const rt = median(row.rt);
  const cpu = median(row.cpu);
  console.log(`| ${name} | ${rt.toFixed(0)} | ${(rt / ref).toFixed(2)} | ${cpu.toFixed(0)} | ${median(row.sys).toFixed(0)} | ${(cpu / refCpu).toFixed(2)} |`);
}
