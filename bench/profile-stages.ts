// Where a relay's CPU goes, from a .cpuprofile (`npm run bench -- --quick --only 2 --profile`
// writes them to bench/results/profiles/): self time by module/package and a split by request
// stage, in µs per request when the number of requests served is given.
//
//   node --import tsx bench/profile-stages.ts <file.cpuprofile> [requests served] [--detail stage,…]
//
// Each sample goes to the stage of the nearest frame, leaf first, that belongs to one (a
// syscall made from the logger is logging, from the HTTP response is the response write). The
// profile is wall-clock sampling: on a shared machine a process descheduled on its way out of a
// system call charges the wait to that call, so syscall frames (writev, writeString) read high;
// CPU time from /proc (bench/cycle-ab.ts) is the measure, this split says where it goes.
import { readFileSync } from 'node:fs';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type Rule = [stage: string, test: (fn: string, url: string) => boolean];
const RULES: Rule[] = [
  [
    'start-up (module load)',
    (f, u) =>
      /wrapSafe|compileForInternalLoader|compileSourceTextModule|readFileUtf8|internalModuleStat|realpathSync|toRealPath/.test(f) ||
      /node:internal\/modules|avvio|semver/.test(u),
  ],
  ['logging (pino line + write)', (_f, u) => /pino|sonic-boom|src\/core\/logger/.test(u)],
  ['metrics (prom-client)', (_f, u) => /prom-client|src\/ops\/metrics/.test(u)],
  ['request id', (_f, u) => /src\/http\/request-id/.test(u)],
  ['client address', (_f, u) => /src\/http\/client-address/.test(u)],
  ['rate limit (hooks + memory counter)', (_f, u) => /src\/limits\/|src\/http\/rate-limit-plugin/.test(u)],
  ['connection guard', (_f, u) => /src\/http\/connection-guard/.test(u)],
  ['held-poll share', (_f, u) => /src\/http\/held-polls/.test(u)],
  [
    'held polls, timers, abort signals',
    (f, u) =>
      /src\/core\/(hold|wake-hub)|src\/http\/client-gone/.test(u) ||
      (/AbortSignal|EventListener|Timeout|insert|listOnTimeout|processTimers/.test(f) && /node:internal\/(abort|event_target|timers)|node:timers/.test(u)),
  ],
  [
    'body read + JSON parse',
    (f, u) => /secure-json-parse/.test(u) || (/ContentTypeParser|rawBody|defaultJsonParser|onEnd|onData/.test(f) && /fastify/.test(u)),
  ],
  ['validation + route handler', (_f, u) => /src\/http\/(validate|server-token)|src\/protocols\/[^/]+\/(routes|body)/.test(u)],
  ['domain (relay + store)', (_f, u) => /src\/protocols\/|src\/store\/|src\/core\/(fifo|source-ledger|clock|errors)/.test(u)],
  ['serialization', (f, u) => /fast-json-stringify/.test(u) || (/serialize/.test(f) && /fastify/.test(u))],
  ['routing (find-my-way)', (_f, u) => /find-my-way/.test(u)],
  [
    'response write (http_outgoing, socket write)',
    (f, u) =>
      /node:_http_outgoing/.test(u) || (/writeHead|resOnFinish/.test(f) && /node:_http_server/.test(u)) || /^(writev|writeUtf8String|writeBuffer)$/.test(f),
  ],
  ['our hooks (app.ts, errors plugin, route config)', (_f, u) => /src\/(app|http\/route-config|http\/errors-plugin|http\/idle-answer)/.test(u)],
  ['fastify (hook runner, request/reply)', (_f, u) => /fastify|fastq|fast-uri|toad-cache/.test(u)],
  ['socket read + HTTP parse', (f, u) => /node:_http_(server|common|incoming)|node:net/.test(u) || /onStreamRead|parserOn/.test(f)],
  ['garbage collector', (f) => f === '(garbage collector)'],
];
const OTHER = 'other (node internals, microtasks)';

const args = process.argv.slice(2);
const detailAt = args.indexOf('--detail');
const detail = detailAt >= 0 ? (args.splice(detailAt, 2)[1] ?? '').split(',') : [];
const [file, served] = args;
if (file === undefined) throw new Error('usage: profile-stages.ts <file.cpuprofile> [requests served] [--detail stage,…]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const requests = served === undefined ? NaN : Number(served);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const stageCache = new Map<number, string>();
function stageOf(id: number): string {
  const known = stageCache.get(id);
  if (known !== undefined) return known;
  const { functionName: f, url: u } = byId.get(id)!.callFrame;
  let stage = f === '(idle)' ? 'idle' : (RULES.find(([, test]) => test(f, u))?.[0] ?? null);
  if (stage === null) {
    const up = parent.get(id);
    stage = up === undefined ? OTHER : stageOf(up);
    if (stage === 'idle') stage = OTHER;
  }
  stageCache.set(id, stage);
  return stage;
}
const moduleOf = (url: string, fn: string): string => {
  if (url === '') return fn;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const ours = /dist\/(src\/[^/]+(?:\/[^/]+)?)/.exec(url);
  return ours !== null ? ours[1]! : url;
};

const byStage = new Map<string, number>();
const byModule = new Map<string, number>();
const byStageFn = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const stage = stageOf(id);
  const { functionName: f, url: u, lineNumber } = byId.get(id)!.callFrame;
  byStage.set(stage, (byStage.get(stage) ?? 0) + dt);
  if (stage !== 'idle') byModule.set(moduleOf(u, f), (byModule.get(moduleOf(u, f)) ?? 0) + dt);
  const key = `${stage}\t${f || '(anonymous)'} ${u.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  byStageFn.set(key, (byStageFn.get(key) ?? 0) + dt);
});
const busy = [...byStage].filter(([s]) => s !== 'idle').reduce((a, [, v]) => a + v, 0);
const perRequest = (us: number): string => (Number.isFinite(requests) ? (us / requests).toFixed(1) : '–');
const sorted = <K>(m: Map<K, number>): [K, number][] => [...m].sort((a, b) => b[1] - a[1]);

console.log(`busy ${(busy / 1000).toFixed(0)} ms, idle ${((byStage.get('idle') ?? 0) / 1000).toFixed(0)} ms, requests ${served ?? '?'}\n`);
console.log('| stage | ms | % of busy | µs per request |\n|---|---:|---:|---:|');
for (const [stage, us] of sorted(byStage))
  if (stage !== 'idle') console.log(`| ${stage} | ${(us / 1000).toFixed(0)} | ${((100 * us) / busy).toFixed(1)} | ${perRequest(us)} |`);
const startup = byStage.get(RULES[0]![0]) ?? 0;
console.log(`| **total without start-up** | ${((busy - startup) / 1000).toFixed(0)} | | ${perRequest(busy - startup)} |\n`);
console.log('| module / package (self time) | ms | % of busy |\n|---|---:|---:|');
for (const [name, us] of sorted(byModule).slice(0, 25)) console.log(`| ${name} | ${(us / 1000).toFixed(0)} | ${((100 * us) / busy).toFixed(1)} |`);
for (const want of detail) {
  console.log(`\n${want}:`);
  for (const [key, us] of sorted(byStageFn)
    .filter(([k]) => k.startsWith(want))
    .slice(0, 15))
    console.log(`  ${perRequest(us).padStart(6)} µs/req  ${key.split('\t')[1]}`);
}
