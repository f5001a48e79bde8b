// Turns the bench's results into target verdicts, a Markdown summary and a one-line summary.
import type { Dist } from './stats.js';
import { costMarkdown, heldMarkdown, memoryPartsMarkdown, scaleTargets } from './report-scale.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Target {
  id: string;
  what: string;
  goal: string;
  measured: string;
  status: 'met' | 'missed' | 'not measured';
}

const fmt = (n: unknown, digits = 1): string =>
  typeof n === 'number' && Number.isFinite(n) ? (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(digits)) : '–';
const ratio = (a: unknown, b: unknown): string =>
  typeof a === 'number' && typeof b === 'number' && b !== 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '–';

export function evaluate(results: Any): Target[] {
  const targets: Target[] = [];
  const add = (id: string, what: string, goal: string, measured: string | null, ok: boolean | null): void => {
    targets.push({ id, what, goal, measured: measured ?? '–', status: ok === null ? 'not measured' : ok ? 'met' : 'missed' });
  };
  const h16 = results.healthz?.['16'];
  if (h16?.relay && h16?.reference) {
    const r = h16.relay.rps / h16.reference.rps;
    add(
      'healthz16',
      '/healthz req/s at 16 connections vs reference',
      '≥ 0.50×',
      `${r.toFixed(2)}× (${fmt(h16.relay.rps)} vs ${fmt(h16.reference.rps)} req/s)`,
      r >= 0.5,
    );
  } else add('healthz16', '/healthz req/s at 16 connections vs reference', '≥ 0.50×', null, null);

  const flat = results.cycleFlat;
  if (flat?.relay && flat?.reference) {
    const r = flat.relay.roundTripsPerS / flat.reference.roundTripsPerS;
    add(
      'cycleFlat',
      'flat-out cycle round trips/s vs reference (K=4, C=16)',
      '≥ 0.50×',
      `${r.toFixed(2)}× (${fmt(flat.relay.roundTripsPerS)} vs ${fmt(flat.reference.roundTripsPerS)} rt/s)`,
      r >= 0.5,
    );
  } else add('cycleFlat', 'flat-out cycle round trips/s vs reference (K=4, C=16)', '≥ 0.50×', null, null);

  const cad = results.cycleCadence?.relay;
  if (cad && cad.addedMs.count > 0) {
    add(
      'cadenceP50',
      'real cadences: added latency p50 (K=100, C=50)',
      '≤ 50 ms',
      `${fmt(cad.addedMs.p50)} ms (n=${cad.addedMs.count})`,
      cad.addedMs.p50 <= 50,
    );
    add(
      'cadenceP99',
      'real cadences: added latency p99 (K=100, C=50)',
      '≤ 250 ms',
      `${fmt(cad.addedMs.p99)} ms (n=${cad.addedMs.count})`,
      cad.addedMs.p99 <= 250,
    );
  } else {
    add('cadenceP50', 'real cadences: added latency p50 (K=100, C=50)', '≤ 50 ms', null, null);
    add('cadenceP99', 'real cadences: added latency p99 (K=100, C=50)', '≤ 250 ms', null, null);
  }

  const mem = results.memory?.relay;
  if (mem) {
    // No absolute ceiling after the floods: 200,000 realistic entries are ~350 MB of payload
    // alone. What the relay adds is the per-entry target (memory step, below).
    const back = mem.rssAfterExpiryMb / mem.rssStartMb;
    add(
      'rssBack',
      'RSS after the TTLs pass vs starting RSS',
      '≤ 1.20×',
      `${back.toFixed(2)}× (${fmt(mem.rssAfterExpiryMb)} vs ${fmt(mem.rssStartMb)} MB)`,
      back <= 1.2,
    );
  } else {
    add('rssBack', 'RSS after the TTLs pass vs starting RSS', '≤ 1.20×', null, null);
  }

  const idle = results.idle?.relay;
  if (idle?.probe) {
    const complete = idle.idleOpened >= idle.requestedIdle && idle.silentStillOpen >= idle.requestedSilent;
    const note = `${fmt(idle.probe.latencyMs.p99, 2)} ms with ${fmt(idle.idleOpened)} idle + ${fmt(idle.silentStillOpen)} silent open`;
    add('idleP99', '/healthz p99 beside idle and silent connections', '≤ 50 ms', note, idle.probe.latencyMs.p99 <= 50 && idle.probe.errors === 0 && complete);
  } else add('idleP99', '/healthz p99 beside idle and silent connections', '≤ 50 ms', null, null);
  scaleTargets(results, add);
  return targets;
}

function distRow(label: string, r: Dist | undefined, ref: Dist | undefined): string {
  const cell = (d: Dist | undefined, k: keyof Dist): string => fmt(d?.[k], 2);
  return `| ${label} | ${cell(r, 'count')} | ${cell(r, 'p50')} / ${cell(r, 'p90')} / ${cell(r, 'p99')} / ${cell(r, 'max')} | ${cell(ref, 'count')} | ${cell(ref, 'p50')} / ${cell(ref, 'p90')} / ${cell(ref, 'p99')} / ${cell(ref, 'max')} | ${ratio(r?.p50, ref?.p50)} / ${ratio(r?.p99, ref?.p99)} |`;
}

export function markdown(report: Any): string {
  const { results, targets, machine } = report;
  const L: string[] = [];
  L.push(`# Relay benchmark ${report.date}${report.quick ? ' (quick)' : ''}`, '');
  L.push(
    `Node ${machine.node}, ${machine.cpus} CPUs, ${machine.pinning ? `servers pinned to CPU ${machine.pinning.server}, load generator to CPU ${machine.pinning.load}` : 'no CPU pinning'}; load average ${machine.loadavgBefore.join(' / ')} before, ${machine.loadavgAfter.join(' / ')} after; ${report.seconds} s in all.`,
  );
  L.push(
    `Reference: bare \`node:http\` server with the same routes and holds (bench/reference-server.ts), measured in the same run. Ratios are relay ÷ reference: above 1 is better for throughput, worse for latency.`,
    '',
  );

  L.push('## Targets', '', '| target | goal | measured | verdict |', '|---|---|---|---|');
  for (const t of targets as Target[])
    L.push(`| ${t.what} | ${t.goal} | ${t.measured} | ${t.status === 'met' ? 'met' : t.status === 'missed' ? '**missed**' : 'not measured'} |`);
  L.push('');

  L.push('## 1. /healthz', '');
  if (results.healthz) {
    L.push(
      "Server CPU µs per request is the server process's user + system CPU time divided by the requests it answered: it does not depend on which side set the pace.",
      '',
    );
    L.push(
      '| connections | relay req/s | reference req/s | ratio | relay p50 / p99 ms | reference p50 / p99 ms | server CPU µs/req relay / ref (ratio) | errors (relay/ref) |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const [c, pair] of Object.entries(results.healthz as Any)) {
      const r = pair.relay;
      const ref = pair.reference;
      L.push(
        `| ${c} | ${fmt(r.rps)} | ${fmt(ref.rps)} | ${ratio(r.rps, ref.rps)} | ${fmt(r.latencyMs.p50, 2)} / ${fmt(r.latencyMs.p99, 2)} | ${fmt(ref.latencyMs.p50, 2)} / ${fmt(ref.latencyMs.p99, 2)} | ${fmt(r.serverCpuUsPerOp)} / ${fmt(ref.serverCpuUsPerOp)} (${ratio(r.serverCpuUsPerOp, ref.serverCpuUsPerOp)}) | ${r.errors}/${ref.errors} |`,
      );
    }
  } else L.push('broke: see errors below');
  L.push('');

  const cycle = (title: string, pair: Any, note: string): void => {
    L.push(title, '', note, '');
    if (!pair?.relay) {
      L.push('broke: see errors below', '');
      return;
    }
    const r = pair.relay;
    const ref = pair.reference;
    L.push(
      `Round trips: relay ${fmt(r.roundTrips)} in the window (${fmt(r.roundTripsPerS)}/s), reference ${fmt(ref.roundTrips)} (${fmt(ref.roundTripsPerS)}/s), ratio ${ratio(r.roundTripsPerS, ref.roundTripsPerS)}. ${r.serverCpuUsPerOp != null ? `Server CPU per round trip (five requests): relay ${fmt(r.serverCpuUsPerOp)} µs, reference ${fmt(ref.serverCpuUsPerOp)} µs (${ratio(r.serverCpuUsPerOp, ref.serverCpuUsPerOp)}). ` : ''}Wrong replies: ${r.wrongReply}/${ref.wrongReply}. Errors: relay ${JSON.stringify(r.errors)}, reference ${JSON.stringify(ref.errors)}.`,
      '',
    );
    L.push('| latency (ms) | relay n | relay p50 / p90 / p99 / max | ref n | ref p50 / p90 / p99 / max | ratio p50 / p99 |', '|---|---|---|---|---|---|');
    L.push(distRow('pickup', r.pickupMs, ref.pickupMs));
    L.push(distRow('delivery', r.deliveryMs, ref.deliveryMs));
    L.push(distRow('client-observed', r.clientObservedMs, ref.clientObservedMs));
    L.push(distRow('**added**', r.addedMs, ref.addedMs));
    L.push('');
  };
  cycle(
    '## 2a. Full cycle, flat out (K=4 nodes, C=16 clients)',
    results.cycleFlat,
    'No think time: nodes loop /sink → /source, clients loop /next_server → /faucet → /retrieve. Added = client-observed here.',
  );
  cycle(
    '## 2b. Full cycle, real cadences (K=100 nodes, C=50 clients)',
    results.cycleCadence,
    "Nodes honour `next_ping_in_x_seconds` with a 10 s request timeout; clients wait 3 s, then poll /retrieve every 2 s. Added = client-observed − 3 s. Delivery includes the part of the client's 3 s wait still left when the response arrived.",
  );

  L.push('## 3. Memory', '');
  const mem = results.memory;
  if (mem?.skipped) L.push(`skipped: ${mem.skipped}`);
  else if (mem?.relay) {
    const r = mem.relay;
    const ref = mem.reference;
    L.push(
      `${fmt(report.params.flood)} requests no node claims and ${fmt(report.params.flood)} responses no client retrieves, each ~${fmt(1024)} chars of base64 ciphertext and its own ~450-char client key; TTLs ${report.params.floodTtlS} s.`,
      '',
    );
    L.push('| RSS (MB) | relay | reference | ratio |', '|---|---|---|---|');
    L.push(`| before | ${fmt(r.rssStartMb)} | ${fmt(ref.rssStartMb)} | ${ratio(r.rssStartMb, ref.rssStartMb)} |`);
    L.push(`| after the floods | ${fmt(r.rssAfterFloodMb)} | ${fmt(ref.rssAfterFloodMb)} | ${ratio(r.rssAfterFloodMb, ref.rssAfterFloodMb)} |`);
    L.push(`| after the TTLs | ${fmt(r.rssAfterExpiryMb)} | ${fmt(ref.rssAfterExpiryMb)} | ${ratio(r.rssAfterExpiryMb, ref.rssAfterExpiryMb)} |`);
    const perEntry = (side: Any): string => {
      const entries = (side.flood.requestsAccepted ?? 0) + (side.flood.responsesAccepted ?? 0);
      return entries > 0 ? fmt(((side.rssAfterFloodMb - side.rssStartMb) * 1024 * 1024) / entries / 1024, 2) : '–';
    };
    L.push(`| RSS growth per entry held (KB) | ${perEntry(r)} | ${perEntry(ref)} | |`);
    const stored = r.heldAfterFlood?.storedBytes;
    const entries = (r.flood.requestsAccepted ?? 0) + (r.flood.responsesAccepted ?? 0);
    if (typeof stored === 'number' && entries > 0) {
      L.push(
        '',
        `The relay's stored_bytes gauge after the floods: ${fmt(Math.round(stored / 1024 / 1024))} MB of keys and ciphertext, ${fmt(stored / entries / 1024, 2)} KB per entry — the payload itself, before any overhead of strings, Maps or the heap.`,
      );
    }
    L.push('');
    L.push(
      `Accepted by the relay: ${fmt(r.flood.requestsAccepted)} requests, ${fmt(r.flood.responsesAccepted)} responses (${fmt(r.flood.faucetPerS)} /faucet/s, ${fmt(r.flood.sourcePerS)} /source/s; reference ${fmt(ref.flood.faucetPerS)} and ${fmt(ref.flood.sourcePerS)}). Relay gauges after the floods: ${JSON.stringify(r.heldAfterFlood)}; after the TTLs: ${JSON.stringify(r.heldAfterExpiry)}. Relay RSS, one sample a second from expiry until it is back within 10% of the start (at most ${report.params.rssSettleS} s; V8 returns freed pages only when its memory reducer runs): ${r.rssTraceAfterExpiryMb.join(', ')}; reference: ${ref.rssTraceAfterExpiryMb.join(', ')}.`,
    );
    L.push(...memoryPartsMarkdown(r, results.redisCost?.redisMemory));
  } else L.push('broke: see errors below');
  L.push('');

  L.push('## 4. Idle keep-alive and silent half-open connections', '');
  const idle = results.idle;
  if (idle?.relay) {
    L.push('/healthz at 16 connections while the other connections stay open.', '');
    L.push('| | relay | reference | ratio |', '|---|---|---|---|');
    const r = idle.relay;
    const ref = idle.reference;
    L.push(`| idle keep-alive open | ${fmt(r.idleOpened)} | ${fmt(ref.idleOpened)} | |`);
    L.push(`| silent open (half send nothing, half a partial request line) | ${fmt(r.silentStillOpen)} | ${fmt(ref.silentStillOpen)} | |`);
    L.push(`| /healthz req/s | ${fmt(r.probe.rps)} | ${fmt(ref.probe.rps)} | ${ratio(r.probe.rps, ref.probe.rps)} |`);
    L.push(
      `| /healthz p50 ms | ${fmt(r.probe.latencyMs.p50, 2)} | ${fmt(ref.probe.latencyMs.p50, 2)} | ${ratio(r.probe.latencyMs.p50, ref.probe.latencyMs.p50)} |`,
    );
    L.push(
      `| /healthz p99 ms | ${fmt(r.probe.latencyMs.p99, 2)} | ${fmt(ref.probe.latencyMs.p99, 2)} | ${ratio(r.probe.latencyMs.p99, ref.probe.latencyMs.p99)} |`,
    );
    L.push(`| /healthz errors | ${r.probe.errors} | ${ref.probe.errors} | |`);
  } else L.push('broke: see errors below');
  L.push('');

  L.push(...costMarkdown(results.redisCost));
  L.push(...heldMarkdown(results.held));
  if (report.errors.length > 0) L.push('## Errors', '', ...report.errors.map((e: string) => `- ${e}`), '');
  return `${L.join('\n')}\n`;
}

export function oneLine(report: Any): string {
  const targets = report.targets as Target[];
  const met = targets.filter((t) => t.status === 'met').length;
  const parts = targets.map((t) => `${t.id} ${t.measured.split(' (')[0]} ${t.status === 'met' ? 'ok' : t.status === 'missed' ? 'MISSED' : 'n/a'}`);
  const rows = report.results.redisCost?.rows as Any[] | undefined;
  const redis = rows ? rows.map((r) => `${r.store}/${r.protocol} ${r.roundTripsPerS} rt/s`).join(', ') : 'cost step broke or skipped';
  return `bench${report.quick ? ' --quick' : ''}: ${met}/${targets.length} targets met | ${parts.join('; ')} | ${redis} | ${report.seconds} s${report.errors.length ? ` | ${report.errors.length} step(s) broke` : ''}`;
}
