// What picking a node costs Redis as the fleet grows: N live nodes of each protocol (from N/4
// sources) registered on a Redis-store, then the legacy pick (/faucet's pickNode) and the API v1
// selection (requests' selectNode) are called repeatedly; Redis CPU (INFO) and time in scripts
// (commandstats) per call. The flat-out cycle (step 5) runs 4 nodes; this is the other end.
//
//   node --import tsx bench/selection-cost.ts [N ...]      (default 4 100 1000)
import { setTimeout as sleep } from 'node:timers/promises';
import { storeLimits } from '../src/store/limits.js';
import { loadConfig } from '../src/config.js';
import { RedisStore } from '../src/store/redis.js';
import type { V1Capabilities } from '../src/protocols/v1/types.js';
import { diff } from './redis-info.js';
import { startRedisServer } from './redis-cost.js';

const counts = process.argv.slice(2).map(Number);
const SIZES = counts.length > 0 ? counts : [4, 100, 1000];
const CALLS = 400;

const caps: V1Capabilities = {
  supportedModelIds: ['bench-model'],
  contextTier: '8k-fast',
  maxContextTokens: 8192,
  defaultOutputReservation: 512,
  maxOutputTokens: 1024,
  maxConcurrency: 1,
  backendClass: 'cpu',
};

const redis = await startRedisServer();
const limits = storeLimits(
  loadConfig({ TOKENPLACE_RELAY_MAX_NODES: '100000', TOKENPLACE_RELAY_MAX_NODES_PER_SOURCE: '100000', TOKENPLACE_API_V1_MAX_NODES_PER_SOURCE: '100000' }),
);
const rows: string[] = [
  '| live nodes | legacy pickNode: Redis CPU µs/call | in scripts µs/call | API v1 selectNode: Redis CPU µs/call | in scripts µs/call |',
  '|---|---|---|---|---|',
];
try {
  for (const size of SIZES) {
    await redis.probe.flushAll();
    const store = new RedisStore(limits, { url: redis.url, prefix: `sel:${size}:` });
    await store.ready();
    const now = Date.now();
    for (let i = 0; i < size; i += 1) {
      const source = `198.51.${i % Math.max(1, Math.ceil(size / 4))}.0/24`;
      await store.legacy.register(`legacy-node-${i}`.padEnd(450, 'k'), now, source);
      const v1 = await store.v1.registerNode(`v1-node-${i}`.padEnd(450, 'k'), caps, `digest-${i}`, now, { source });
      if (!v1.ok) throw new Error(`v1 register refused: ${v1.reason}`);
    }
    const perCall = async (fn: () => Promise<unknown>): Promise<[number, number]> => {
      for (let i = 0; i < 20; i += 1) await fn();
      const before = await redis.probe.snapshot();
      for (let i = 0; i < CALLS; i += 1) await fn();
      const w = diff(before, await redis.probe.snapshot());
      return [w.cpuUs / CALLS, w.split.scriptsUs / CALLS];
    };
    const [legacyCpu, legacyScripts] = await perCall(() => store.legacy.pickNode(Date.now()));
    const [v1Cpu, v1Scripts] = await perCall(() => store.v1.selectNode({ model: 'bench-model', contextTier: '8k-fast' }, Date.now()));
    rows.push(`| ${size} | ${legacyCpu.toFixed(0)} | ${legacyScripts.toFixed(0)} | ${v1Cpu.toFixed(0)} | ${v1Scripts.toFixed(0)} |`);
    console.error(rows.at(-1));
    await store.close();
    await sleep(50);
  }
} finally {
  await redis.stop();
}
console.log(rows.join('\n'));
