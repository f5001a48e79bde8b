// The fault run of bench/abuse/faults-v1.ts as a test: three replicas on a real redis-server,
// honest traffic of both protocols through DEBUG SLEEP stalls longer than the command timeout,
// a Redis restart, a replica SIGTERM and a kill -9. API v1 must lose nothing it accepted and
// deliver only the right answers; the legacy counts are reported (that protocol cannot ack).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { formatReport, runFaults } from '../../bench/abuse/faults-v1.js';
import { CLI } from './cluster.js';
import { requireTool } from '../support/tools.js';

test('faults under honest traffic: API v1 loses nothing it accepted', { timeout: 200_000 }, async (t) => {
  if (requireTool(t, 'redis-server', 'apt-get install redis-server') === null) return;
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const report = await runFaults({ scale: 0.6, v1Clients: 8, legacyClients: 4 });
  t.diagnostic(formatReport(report));
  const v1 = report.rows.filter((r) => r.protocol === 'v1');
  for (const row of v1) assert.ok(row.tally.accepted > 0, `v1 traffic ran during ${row.phase}`);
  for (const row of v1) assert.equal(row.tally.lost, 0, `v1 lost requests during ${row.phase}`);
  assert.equal(report.wrongAnswers, 0);
});
