// The log line's timestamp is the ISO form of the moment, whatever second it falls in and
// however the cached part of it was last filled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createLogger, isoTimestamp } from '../../src/core/logger.js';

describe('log timestamps', () => {
  it('match Date.toISOString across milliseconds, seconds and days, in any order', () => {
    const base = Date.UTC(2026, 11, 31, 23, 59, 59, 0);
    for (const ms of [base, base + 7, base + 42, base + 999, base + 1000, base + 1001, base - 1, base + 86_400_000 + 5, 0, base + 123]) {
      assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
    }
  });
  it('a logger given a stream writes each line to it, with the timestamp field', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const before = Date.now();
    createLogger('info', sink).info({ a: 1 }, 'hello');
    const line = JSON.parse(lines.join('')) as { timestamp: string; message: string; level: string };
    assert.equal(line.message, 'hello');
    assert.equal(line.level, 'info');
    const at = Date.parse(line.timestamp);
    assert.ok(at >= before - 1 && at <= Date.now() + 1);
  });
});

describe('buffered standard output', () => {
  const logger = fileURLToPath(new URL('../../src/core/logger.ts', import.meta.url));
  const run = (tail: string): string[] => {
    const script = `import { createLogger } from ${JSON.stringify(logger)}; const log = createLogger('info'); for (let i = 0; i < 3; i++) log.info({ i }, 'line'); ${tail}`;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    return out.stdout.split('\n').filter((l) => l.includes('"message":"line"'));
  };
  it('every line logged before process.exit is written', () => assert.equal(run('process.exit(3);').length, 3));
  it('lines logged by a process that stays up are written within the flush interval', () => {
    assert.equal(run("setTimeout(() => { process.kill(process.pid, 'SIGKILL'); }, 600);").length, 3);
  });
});
