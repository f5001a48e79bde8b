// Every attack script of bench/abuse in one run, each against a fresh built relay, memory store and
// (where the script supports it) a real redis-server; the combined output goes to stdout and to
// bench/results/attacks-<date>.md.
//
//   npm run build && node --import tsx bench/abuse/run.ts [--seconds 10]
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './harness.js';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const RUNS: { script: string; flags: string[] }[] = [
  { script: 'attack-legacy.ts', flags: [] },
  { script: 'attack-legacy.ts', flags: ['--redis'] },
  { script: 'attack-v1.ts', flags: [] },
  { script: 'attack-v1.ts', flags: ['--redis'] },
  { script: 'attack-http.ts', flags: [] },
];

let report = `# Attacks against the relay (${new Date().toISOString()})\n\n`;
report += `\`node --import tsx bench/abuse/run.ts --seconds ${args.seconds}\`; each attack is bounded by that many seconds.\n`;
let failed = 0;
for (const run of RUNS) {
  const argv = ['--import', 'tsx', join('bench', 'abuse', run.script), '--seconds', args.seconds, ...run.flags];
  const title = `bench/abuse/${run.script} ${run.flags.join(' ')}`.trim();
  process.stdout.write(`\n=== ${title}\n`);
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    process.stdout.write(chunk);
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  if (code !== 0) failed += 1;
  report += `\n## ${title}${code === 0 ? '' : ` (exit ${code})`}\n\n\`\`\`\n${out.trim()}\n\`\`\`\n`;
}
const file = join(ROOT, 'bench', 'results', `attacks-${new Date().toISOString().slice(0, 10)}.md`);
writeFileSync(file, report);
process.stdout.write(`\nwritten: ${file}\n`);
process.exitCode = failed === 0 ? 0 : 1;
