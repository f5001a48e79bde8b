// The operator page: polls /ops/state every few seconds and draws it. Rates are taken here, as the
// difference of two polls' running totals over the time between them (the relay keeps no state
// per viewer); percentiles come computed from the relay's histograms. Everything is written with
// textContent: node labels are chosen by whoever runs a node, so none of it is ever parsed as HTML.

const TOKEN_KEY = 'tokenplace.ops.token';
const EVERY_MS = 3000;
const TIMEOUT_MS = 5000;

import type { LatencySummary as Latency, OpsState } from '../../src/ops/state-wire.js';

// The one cast from a looked-up element to its known kind, kept in one place.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
};

// ---- Formatting -------------------------------------------------------------------------------

const int = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const one = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

function seconds(value: number | null | undefined, maxBound?: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const prefix = maxBound !== undefined && maxBound > 0 && value >= maxBound ? '≥ ' : '';
  if (value < 1) return `${prefix}${one.format(value * 1000)} ms`;
  if (value < 120) return `${prefix}${one.format(value)} s`;
  if (value < 7200) return `${prefix}${one.format(value / 60)} min`;
  return `${prefix}${one.format(value / 3600)} h`;
}

function bytes(value: number | null): string {
  if (value === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = value;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? int.format(v) : one.format(v)} ${units[u]}`;
}

function clock(date: Date): string {
  return date.toLocaleTimeString('en-GB', { hour12: false });
}

// ---- Rates between polls ----------------------------------------------------------------------

interface Sample {
  /** Same replica and same start: otherwise totals are not comparable. */
  replica: string;
  at: number;
  values: Map<string, number>;
}

let previous: Sample | null = null;

/** Per-minute rate of a running total since the previous poll, or null when there is none to compare. */
function rateOf(sample: Sample, key: string): number | null {
  if (previous === null || previous.replica !== sample.replica) return null;
  const before = previous.values.get(key) ?? 0;
  const now = sample.values.get(key) ?? 0;
  const minutes = (sample.at - previous.at) / 60_000;
  if (minutes <= 0 || now < before) return null;
  return (now - before) / minutes;
}

function rate(value: number | null): string {
  if (value === null) return '–';
  return value === 0 ? '0' : value < 10 ? one.format(value) : int.format(value);
}

// ---- Drawing ----------------------------------------------------------------------------------

function cell(row: HTMLTableRowElement, label: string, text: string, opts: { num?: boolean; code?: boolean; header?: boolean } = {}): HTMLTableCellElement {
  const td = document.createElement(opts.header ? 'th' : 'td');
  if (opts.header) td.setAttribute('scope', 'row');
  td.dataset.label = label;
  if (opts.num) td.className = 'num';
  if (opts.code) {
    const code = document.createElement('code');
    code.textContent = text;
    td.append(code);
  } else td.textContent = text;
  row.append(td);
  return td;
}

function emptyRow(tbody: HTMLTableSectionElement, columns: number, text: string): void {
  const tr = document.createElement('tr');
  tr.className = 'empty';
  const td = document.createElement('td');
  td.colSpan = columns;
  td.textContent = text;
  tr.append(td);
  tbody.append(tr);
}

function setCard(id: string, main: string, sub?: string): void {
  $(id).textContent = main;
  const subEl = document.getElementById(id.replace(/-[a-z]+$/, '-split'));
  if (subEl && sub !== undefined) subEl.textContent = sub;
}

function drawSummary(s: OpsState): void {
  const n = s.nodes;
  $('nodes-live').textContent = n.live === null ? '–' : int.format(n.live);
  $('nodes-split').textContent =
    n.legacyTotal === null
      ? ''
      : `legacy ${n.legacyTotal} · v1 ${n.v1Total ?? 0}${n.v1Healthy !== null && n.v1Total !== null && n.v1Healthy < n.v1Total ? ` (${n.v1Healthy} healthy)` : ''}`;
  const q = s.queues;
  if (q === null) {
    for (const id of ['queued-total', 'oldest-age', 'inflight-total']) setCard(id, '–', '');
  } else {
    $('queued-total').textContent = int.format(q.legacy.queued + q.v1.queued);
    $('queued-split').textContent = `legacy ${q.legacy.queued} · v1 ${q.v1.queued} · cap ${int.format(q.maxQueued)}`;
    $('oldest-age').textContent = q.legacy.queued + q.v1.queued === 0 ? 'none' : seconds(Math.max(q.legacy.oldestAgeSeconds, q.v1.oldestAgeSeconds));
    $('oldest-split').textContent =
      q.legacy.queued + q.v1.queued === 0
        ? 'nothing waiting'
        : `legacy ${seconds(q.legacy.queued > 0 ? q.legacy.oldestAgeSeconds : null)} · v1 ${seconds(q.v1.queued > 0 ? q.v1.oldestAgeSeconds : null)}`;
    $('inflight-total').textContent = int.format(q.legacy.inflight + q.v1.inflight);
    $('inflight-split').textContent = `legacy ${q.legacy.inflight} · v1 ${q.v1.inflight} · answers waiting ${q.legacy.responses + q.v1.responses}`;
  }
  $('store-state').textContent = s.store.ok ? 'ok' : 'down';
  $('store-card').dataset.state = s.store.ok ? 'ok' : 'down';
  $('store-detail').textContent =
    `${s.store.kind}${s.store.ok ? '' : `: ${s.store.reason ?? 'unavailable'}`} · ${bytes(s.store.storedBytes)} of ${bytes(s.store.maxStoredBytes)}`;
  $('build-version').textContent = s.build.release === 'dev' ? `v${s.build.packageVersion}` : s.build.release;
  $('build-detail').textContent = `${s.build.environment} · package ${s.build.packageVersion}${s.build.ref ? ` · ${s.build.ref}` : ''}`;
}

function drawNodes(s: OpsState): void {
  const tbody = $<HTMLTableElement>('nodes').tBodies[0]!;
  tbody.replaceChildren();
  if (s.nodes.list.length === 0) emptyRow(tbody, 10, s.nodes.total === null ? 'The store did not answer: no node list.' : 'No live compute node.');
  for (const node of s.nodes.list) {
    const tr = document.createElement('tr');
    tr.dataset.fingerprint = node.fingerprint;
    tr.dataset.protocol = node.protocol;
    cell(tr, 'Fingerprint', node.fingerprint, { code: true, header: true });
    cell(tr, 'Label', node.label ?? '–');
    cell(tr, 'Protocol', node.protocol === 'v1' ? 'API v1' : 'legacy');
    const models = node.models.length > 0 ? node.models.join(', ') : node.protocol === 'legacy' ? 'any (legacy)' : 'none';
    const tier = node.contextTier ? ` · ${node.contextTier}` : '';
    const concurrency = node.maxConcurrency !== null ? ` · ×${node.maxConcurrency}` : '';
    cell(tr, 'Models', `${models}${tier}${concurrency}`).classList.add('wrap');
    cell(tr, 'Queue', int.format(node.queueDepth), { num: true }).dataset.field = 'queue';
    cell(tr, 'In flight', int.format(node.inflight), { num: true }).dataset.field = 'inflight';
    cell(tr, 'Served', node.served === undefined ? '–' : int.format(node.served), { num: true });
    cell(tr, 'Failed', node.failed === undefined ? '–' : int.format(node.failed), { num: true });
    cell(tr, 'Last seen', `${seconds(node.ageSeconds)} ago`, { num: true });
    const lease =
      node.leaseLeftSeconds !== undefined ? `${seconds(node.leaseLeftSeconds)} left` : node.leaseSeconds === null ? '–' : seconds(node.leaseSeconds);
    cell(tr, 'Lease', lease, { num: true });
    tbody.append(tr);
  }
  const note = $('nodes-note');
  note.textContent = s.nodes.truncated
    ? `Showing ${s.nodes.list.length} of ${s.nodes.total} nodes. Keys are shown by fingerprint only.`
    : 'Keys are shown by fingerprint only (the first 12 hex digits of SHA-256 of the key).';
}

function sampleOf(s: OpsState): Sample {
  const values = new Map<string, number>();
  for (const r of s.counters.requests) values.set(`req ${r.endpoint} ${r.status}`, r.count);
  for (const r of s.counters.rejections) values.set(`rej ${r.reason}`, r.count);
  for (const r of s.counters.rateLimited) values.set(`rl ${r.budget} ${r.reason}`, r.count);
  for (const r of s.counters.refused) values.set(`guard ${r.kind}`, r.count);
  for (const r of s.counters.evictions) values.set(`evict ${r.reason}`, r.count);
  return { replica: `${s.build.replica} ${s.build.startedAt}`, at: performance.now(), values };
}

function drawCounters(s: OpsState, sample: Sample): void {
  const traffic = $<HTMLTableElement>('traffic').tBodies[0]!;
  const rows = s.counters.requests
    .map((r) => ({ r, per: rateOf(sample, `req ${r.endpoint} ${r.status}`) }))
    .sort((a, b) => (b.per ?? -1) - (a.per ?? -1) || b.r.count - a.r.count);
  traffic.replaceChildren();
  if (rows.length === 0) emptyRow(traffic, 4, 'No requests yet.');
  for (const { r, per } of rows) {
    const tr = document.createElement('tr');
    tr.dataset.route = r.endpoint;
    tr.dataset.status = r.status;
    if (Number(r.status) >= 500) tr.className = 'bad';
    else if (Number(r.status) >= 400) tr.className = 'warn';
    cell(tr, 'Route', r.endpoint, { code: true, header: true });
    cell(tr, 'Status', r.status, { num: true });
    cell(tr, 'Per min', rate(per), { num: true });
    cell(tr, 'Total', int.format(r.count), { num: true });
    traffic.append(tr);
  }

  const refusals = $<HTMLTableElement>('refusals').tBodies[0]!;
  const items: { key: string; what: string; count: number }[] = [
    ...s.counters.rejections.map((r) => ({ key: `rej ${r.reason}`, what: r.reason, count: r.count })),
    ...s.counters.rateLimited.map((r) => ({ key: `rl ${r.budget} ${r.reason}`, what: `rate_limited (${r.budget}, by ${r.reason})`, count: r.count })),
    ...s.counters.refused.map((r) => ({ key: `guard ${r.kind}`, what: `HTTP guard: ${r.kind}`, count: r.count })),
    ...s.counters.evictions.map((r) => ({ key: `evict ${r.reason}`, what: `node evicted: ${r.reason}`, count: r.count })),
  ];
  const withRates = items.map((i) => ({ ...i, per: rateOf(sample, i.key) })).sort((a, b) => (b.per ?? -1) - (a.per ?? -1) || b.count - a.count);
  refusals.replaceChildren();
  if (withRates.length === 0) emptyRow(refusals, 3, 'No refusals.');
  for (const i of withRates) {
    const tr = document.createElement('tr');
    tr.dataset.reason = i.key;
    cell(tr, 'Reason', i.what, { code: true, header: true });
    cell(tr, 'Per min', rate(i.per), { num: true });
    cell(tr, 'Total', int.format(i.count), { num: true });
    refusals.append(tr);
  }
}

function drawLatency(s: OpsState): void {
  const tbody = $<HTMLTableElement>('latency').tBodies[0]!;
  tbody.replaceChildren();
  const rows: [string, string, Latency | null, boolean][] = [
    ['pickup', 'Pickup', s.latency.pickup, false],
    ['turnaround', 'Turnaround', s.latency.turnaround, false],
    ...s.latency.routes.sort((a, b) => b.count - a.count).map((r): [string, string, Latency, boolean] => [`route:${r.route}`, r.route, r, true]),
  ];
  for (const [key, what, l, route] of rows) {
    const tr = document.createElement('tr');
    tr.dataset.measure = key;
    cell(tr, 'Measure', what, { header: true, code: route });
    cell(tr, 'Count', l === null ? '–' : int.format(l.count), { num: true });
    for (const q of ['p50', 'p90', 'p99'] as const) cell(tr, q, seconds(l?.[q], l?.maxBoundSeconds), { num: true }).dataset.field = q;
    cell(tr, 'Mean', seconds(l?.mean), { num: true }).classList.add('mean');
    tbody.append(tr);
  }
}

function drawBuild(s: OpsState): void {
  const dl = $('build');
  dl.replaceChildren();
  const facts: [string, string][] = [
    ['Package', `${s.build.name} ${s.build.packageVersion}`],
    ['Release', s.build.release],
    ['Environment', s.build.environment],
    ...(s.build.ref ? ([['Ref', s.build.ref]] as [string, string][]) : []),
    ['Node.js', s.build.node],
    ['Replica', s.build.replica],
    ['Started', `${new Date(s.build.startedAt).toLocaleString('en-GB', { hour12: false })} (up ${seconds(s.build.uptimeSeconds)})`],
    ['Store', `${s.store.kind}${s.store.sharedAcrossReplicas ? ', shared by the replicas' : ', this process only'}`],
    ['Draining', s.draining ? 'yes' : 'no'],
  ];
  for (const [k, v] of facts) {
    const div = document.createElement('div');
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    div.append(dt, dd);
    dl.append(div);
  }
}

// ---- Status -----------------------------------------------------------------------------------

type Live = 'live' | 'stale' | 'auth' | 'refused';
let lastGoodAt: Date | null = null;
let updates = 0;
let staleReason = '';

function setLive(state: Live, pill: 'ok' | 'warn' | 'down' | 'unknown', text: string): void {
  document.body.dataset.state = state;
  const live = $('live');
  live.dataset.state = pill;
  // Only a change is written: the region is announced by screen readers on every write.
  const textEl = $('live-text');
  if (textEl.textContent !== text) textEl.textContent = text;
  $('main').toggleAttribute('data-stale', state === 'stale');
  $('auth').hidden = state !== 'auth';
  $('refused').hidden = state !== 'refused';
  $('main').hidden = (state === 'auth' || state === 'refused') && lastGoodAt === null;
  tick();
}

function tick(): void {
  const el = $('updated');
  if (lastGoodAt === null) {
    el.textContent = document.body.dataset.state === 'stale' ? `no figures yet: ${staleReason}` : 'not updated yet';
    return;
  }
  const ago = Math.max(0, Math.round((Date.now() - lastGoodAt.getTime()) / 1000));
  const prefix =
    document.body.dataset.state === 'stale' ? `last good update ${clock(lastGoodAt)}, ${ago} s ago: ${staleReason}` : `updated ${clock(lastGoodAt)}`;
  el.textContent = prefix;
}

function draw(s: OpsState): void {
  const sample = sampleOf(s);
  drawSummary(s);
  drawNodes(s);
  drawCounters(s, sample);
  drawLatency(s);
  drawBuild(s);
  previous = sample;
  lastGoodAt = new Date();
  updates += 1;
  document.body.dataset.updates = String(updates);
  if (s.draining) setLive('live', 'warn', 'Draining: this replica is shutting down');
  else if (!s.store.ok) setLive('live', 'down', `Store down (${s.store.reason ?? 'unavailable'})`);
  else if (s.nodes.live === 0) setLive('live', 'warn', 'Live · no compute node');
  else setLive('live', 'ok', `Live · ${s.nodes.live} node${s.nodes.live === 1 ? '' : 's'}`);
}

// ---- Polling ----------------------------------------------------------------------------------

let timer: ReturnType<typeof setTimeout> | undefined;

function schedule(ms: number): void {
  clearTimeout(timer);
  timer = setTimeout(() => void poll(), ms);
}

async function refusalCode(r: Response): Promise<string> {
  try {
    const body = (await r.json()) as { code?: unknown };
    return typeof body.code === 'string' ? body.code : '';
  } catch {
    return '';
  }
}

async function poll(): Promise<void> {
  if (document.visibilityState === 'hidden') {
    schedule(EVERY_MS);
    return;
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let wait = EVERY_MS;
  try {
    const r = await fetch('/ops/state', {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      cache: 'no-store',
      credentials: 'omit',
      signal: controller.signal,
    });
    if (r.status === 401) {
      if (token) sessionStorage.removeItem(TOKEN_KEY);
      $('auth-why').textContent = token
        ? 'The relay did not accept that token. Enter the value of TOKENPLACE_METRICS_TOKEN.'
        : 'This relay shows its figures to cluster-internal addresses, or to anyone with the operator token (the value of TOKENPLACE_METRICS_TOKEN).';
      setLive('auth', 'warn', 'Token needed');
      $('token').focus();
      return; // polling resumes when a token is entered
    }
    if (r.status === 403) {
      setLive('refused', 'down', 'Not available from this address');
      return;
    }
    if (!r.ok) {
      const code = await refusalCode(r);
      const retry = Number(r.headers.get('retry-after'));
      if (Number.isFinite(retry) && retry > 0) wait = Math.max(wait, retry * 1000);
      throw new Error(`the relay answered ${r.status}${code ? ` ${code}` : ''}`);
    }
    draw((await r.json()) as OpsState);
  } catch (err) {
    staleReason = controller.signal.aborted
      ? 'no answer in 5 s'
      : err instanceof TypeError
        ? 'the relay cannot be reached'
        : err instanceof Error
          ? err.message
          : String(err);
    setLive('stale', 'down', 'Stale: the relay is not answering');
  } finally {
    clearTimeout(timeout);
  }
  schedule(wait);
}

function start(): void {
  $<HTMLFormElement>('auth-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $<HTMLInputElement>('token').value.trim();
    if (value === '') return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $<HTMLInputElement>('token').value = '';
    setLive('auth', 'unknown', 'Checking the token…');
    void poll();
  });
  setInterval(tick, 1000);
  // A hidden tab does not need figures; it catches up as soon as it is shown again.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && document.body.dataset.state !== 'auth' && document.body.dataset.state !== 'refused') void poll();
  });
  void poll();
}

start();
