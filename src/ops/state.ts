// What the operator page (/ops) shows, as one JSON document (GET /ops/state), and who may read it.
//
// Built from what the relay already keeps: store stats and health, the live-node listing (each key
// reduced to its fingerprint), the drain state and this replica's metrics registry. Nothing here
// holds a key, an address or a payload byte. Counters are sent as running totals: the page turns
// two polls into rates, so every open page gets its own window and the relay keeps no state per
// viewer. Latency percentiles are estimated here from the histogram buckets (since this replica
// started), the way Prometheus' histogram_quantile does.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyRequest } from 'fastify';
import type { MetricObjectWithValues, MetricValue, MetricValueWithName, Registry } from 'prom-client';
import type { Config } from '../config.js';
import { RelayError } from '../core/errors.js';
import { keyFingerprint } from '../core/fingerprint.js';
import { AddressSet } from '../http/client-address.js';
import { makeServerTokenCheck } from '../http/server-token.js';
import type { RelayContext } from '../context.js';
import { releaseMetadata } from '../protocols/v1/meta.js';
import type { NodeView } from '../store/types.js';
import type { CounterRow, LatencySummary, OpsNode, OpsState } from './state-wire.js';

/** At most this many nodes of each protocol are listed (`truncated` says when there are more). */
export const OPS_NODES_PER_PROTOCOL = 200;

/** The quantiles the page shows. */
export const QUANTILES = [0.5, 0.9, 0.99] as const;

const STARTED_AT = Date.now();

function packageVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/ops → repository root; dist/src/ops → the same root (or /app in the image).
  for (const up of [join(here, '..', '..'), join(here, '..', '..', '..')]) {
    try {
      const pkg = JSON.parse(readFileSync(join(up, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'tokenplace-relay' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; try the next
    }
  }
  return 'unknown';
}

const PACKAGE_VERSION = packageVersion();

// ---- Access ---------------------------------------------------------------------------------

/** Headers by which a proxy says who its client was. */
const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'cf-connecting-ip'] as const;

/**
 * Who may read /ops/state: a cluster-internal (or trusted-proxy) address, or anyone presenting the
 * ops bearer token (TOKENPLACE_METRICS_TOKEN, the one /metrics takes). An internal *peer* that
 * carries forwarding headers but is not a trusted proxy is an ingress whose clients are unknown
 * (TOKENPLACE_TRUSTED_PROXIES unset): its requests come from the internet for all we know, so
 * they need the token. Throws the catalogue refusal; returns how access was granted.
 */
export function makeOpsAccess(config: Config): (request: FastifyRequest) => 'internal' | 'token' {
  const trusted = new AddressSet(config.trustedProxies);
  const internal = new AddressSet([...config.clusterInternal, ...config.trustedProxies]);
  const token = config.metricsToken;
  const checkToken = makeServerTokenCheck(token === null ? [] : [token]);
  return (request) => {
    const peer = request.socket?.remoteAddress ?? '';
    const forwardedByStranger = !trusted.hasText(peer) && FORWARDING_HEADERS.some((h) => request.headers[h] !== undefined);
    if (!forwardedByStranger && internal.hasText(request.clientAddress)) return 'internal';
    if (token === null) throw new RelayError('ops_forbidden');
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    try {
      if (bearer === undefined) throw new Error('no bearer');
      checkToken(bearer);
    } catch {
      throw new RelayError('ops_unauthorized');
    }
    return 'token';
  };
}

// ---- Percentiles ----------------------------------------------------------------------------

export interface Bucket {
  /** Upper bound in seconds (Infinity for +Inf). */
  le: number;
  /** Cumulative count of observations ≤ le. */
  count: number;
}

/**
 * The q-quantile of a cumulative bucket list, interpolated linearly inside the bucket that holds
 * it (lower edge 0 for the first bucket). A quantile in the +Inf bucket is reported as the highest
 * finite bound: the histogram cannot say more. Null when there are no observations.
 */
export function bucketQuantile(buckets: readonly Bucket[], q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      if (inBucket <= 0) return bucket.le;
      return lowerBound + (bucket.le - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

const round6 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1e6) / 1e6);

/** Groups a histogram's `_bucket`, `_sum` and `_count` values by the given label and summarises each group. */
export function summariseHistogram(metric: MetricObjectWithValues<MetricValueWithName<string>>, groupBy?: string): Map<string, LatencySummary> {
  const groups = new Map<string, { buckets: Bucket[]; sum: number; count: number }>();
  const groupOf = (labels: Record<string, string | number | undefined>): { buckets: Bucket[]; sum: number; count: number } => {
    const key = groupBy === undefined ? '' : String(labels[groupBy] ?? '');
    let g = groups.get(key);
    if (g === undefined) {
      g = { buckets: [], sum: 0, count: 0 };
      groups.set(key, g);
    }
    return g;
  };
  for (const v of metric.values) {
    const labels = v.labels as Record<string, string | number | undefined>;
    const g = groupOf(labels);
    if (v.metricName?.endsWith('_bucket')) {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      g.buckets.push({ le, count: v.value });
    } else if (v.metricName?.endsWith('_sum')) g.sum = v.value;
    else if (v.metricName?.endsWith('_count')) g.count = v.value;
  }
  const out = new Map<string, LatencySummary>();
  for (const [key, g] of groups) {
    const finite = g.buckets.filter((b) => Number.isFinite(b.le)).map((b) => b.le);
    out.set(key, {
      count: g.count,
      mean: g.count > 0 ? round6(g.sum / g.count) : null,
      p50: round6(bucketQuantile(g.buckets, 0.5)),
      p90: round6(bucketQuantile(g.buckets, 0.9)),
      p99: round6(bucketQuantile(g.buckets, 0.99)),
      maxBoundSeconds: finite.length > 0 ? Math.max(...finite) : 0,
    });
  }
  return out;
}

// ---- The document ---------------------------------------------------------------------------

/** Fields a node may carry beside NodeView's own (an operator label, per-node counters), read only when present. */
type NodeExtras = { label?: unknown; served?: unknown; failed?: unknown; leaseLeftMs?: unknown; registeredAgoMs?: unknown };

const LABEL_CHARS = 64;

/** One node as the page shows it: the key reduced to its fingerprint, extras only when present. */
export function opsNode(view: NodeView): OpsNode {
  const extra = view as NodeView & NodeExtras;
  const caps = view.capabilities;
  const node: OpsNode = {
    protocol: view.protocol,
    fingerprint: keyFingerprint(view.key),
    ageSeconds: Math.round(view.ageMs) / 1000,
    queueDepth: view.queueDepth,
    inflight: view.inflight,
    leaseSeconds: view.leaseSeconds ?? null,
    models: caps?.supportedModelIds ?? [],
    contextTier: caps?.contextTier ?? null,
    maxConcurrency: caps?.maxConcurrency ?? null,
    backendClass: caps?.backendClass ?? null,
  };
  const label = extra.label ?? caps?.label;
  if (typeof label === 'string' && label !== '') node.label = label.slice(0, LABEL_CHARS);
  const served: unknown = extra.served ?? (caps as NodeExtras | undefined)?.served;
  if (typeof served === 'number' && Number.isFinite(served)) node.served = served;
  const failed: unknown = extra.failed ?? (caps as NodeExtras | undefined)?.failed;
  if (typeof failed === 'number' && Number.isFinite(failed)) node.failed = failed;
  if (typeof extra.leaseLeftMs === 'number' && Number.isFinite(extra.leaseLeftMs)) node.leaseLeftSeconds = Math.round(extra.leaseLeftMs) / 1000;
  if (typeof extra.registeredAgoMs === 'number' && Number.isFinite(extra.registeredAgoMs)) node.registeredSeconds = Math.round(extra.registeredAgoMs) / 1000;
  return node;
}

async function metricValues(registry: Registry, name: string): Promise<MetricValue<string>[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  return (await metric.get()).values;
}

async function histogram(registry: Registry, name: string): Promise<MetricObjectWithValues<MetricValueWithName<string>> | null> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return null;
  return await metric.get();
}

/** Sums a counter's values over all labels but `keep`, dropping zero rows. */
async function counterRows<K extends string>(registry: Registry, name: string, keep: readonly K[]): Promise<CounterRow<K>[]> {
  const rows = new Map<string, Record<K, string> & { count: number }>();
  for (const v of await metricValues(registry, name)) {
    const labels = v.labels as Record<string, string | number | undefined>;
    const key = keep.map((k) => String(labels[k] ?? '')).join('\u0000');
    let row = rows.get(key);
    if (row === undefined) {
      row = Object.fromEntries(keep.map((k) => [k, String(labels[k] ?? '')])) as Record<K, string> & { count: number };
      row.count = 0;
      rows.set(key, row);
    }
    row.count += v.value;
  }
  return [...rows.values()].filter((r) => r.count > 0);
}

export async function opsState(relay: RelayContext, host: string | undefined): Promise<OpsState> {
  const { config, store, clock, drain, metrics } = relay;
  const now = clock.now();
  const health = await store.health().catch((err: unknown) => ({ ok: false as const, reason: err instanceof Error ? err.name : 'error' }));
  // A store that is down still gets a page: the health says why, the store figures are absent.
  const [stats, listing] = health.ok
    ? await Promise.all([store.stats(now).catch(() => null), store.listNodes(now, OPS_NODES_PER_PROTOCOL).catch(() => null)])
    : [null, null];
  const registry = metrics.registry;

  const [requests, rejections, rateLimited, refused, evictions, outcomes] = await Promise.all([
    counterRows(registry, 'tokenplace_relay_requests_total', ['endpoint', 'status'] as const),
    counterRows(registry, 'tokenplace_relay_rejections_total', ['reason'] as const),
    counterRows(registry, 'tokenplace_relay_rate_limited_total', ['budget', 'reason'] as const),
    counterRows(registry, 'tokenplace_relay_http_refused_total', ['kind'] as const),
    counterRows(registry, 'tokenplace_compute_node_evictions_total', ['reason'] as const),
    counterRows(registry, 'tokenplace_relay_request_outcomes_total', ['outcome', 'reason'] as const),
  ]);
  const [durations, pickup, turnaround] = await Promise.all([
    histogram(registry, 'tokenplace_relay_request_duration_seconds'),
    histogram(registry, 'tokenplace_relay_pickup_latency_seconds'),
    histogram(registry, 'tokenplace_relay_turnaround_seconds'),
  ]);
  const byRoute = durations === null ? new Map<string, LatencySummary>() : summariseHistogram(durations, 'endpoint');
  const single = (h: typeof pickup): LatencySummary | null => (h === null ? null : (summariseHistogram(h).get('') ?? null));

  const nodes = listing === null ? [] : [...listing.legacy, ...listing.v1].map(opsNode);
  const total = listing === null ? null : listing.legacyTotal + listing.v1Total;
  const release = releaseMetadata(config, host);

  return {
    generatedAt: new Date(now).toISOString(),
    status: drain.draining ? 'draining' : health.ok ? 'ok' : 'degraded',
    draining: drain.draining,
    build: {
      name: 'tokenplace-relay',
      packageVersion: PACKAGE_VERSION,
      release: release.version,
      environment: release.environment,
      label: release.label,
      ...(release.ref === undefined ? {} : { ref: release.ref }),
      node: process.version,
      replica: hostname(),
      startedAt: new Date(STARTED_AT).toISOString(),
      uptimeSeconds: Math.round((Date.now() - STARTED_AT) / 1000),
    },
    store: {
      kind: store.kind,
      ok: health.ok,
      ...(health.ok ? {} : { reason: health.reason }),
      sharedAcrossReplicas: store.outlivesProcess,
      storedBytes: stats?.storedBytes ?? null,
      maxStoredBytes: store.limits.maxStoredBytes,
    },
    queues:
      stats === null
        ? null
        : {
            legacy: {
              queued: stats.queuedRequests,
              oldestAgeSeconds: stats.oldestQueuedAgeMs / 1000,
              inflight: stats.inflightRequests,
              responses: stats.responses,
              streams: stats.streamSessions,
            },
            v1: {
              queued: stats.v1Queued,
              oldestAgeSeconds: stats.v1OldestQueuedAgeMs / 1000,
              inflight: stats.v1Inflight,
              responses: stats.v1Responses,
              tombstones: stats.v1Tombstones,
            },
            maxQueued: store.limits.maxQueuedTotal,
          },
    nodes: {
      live: stats?.nodes ?? null,
      total,
      legacyTotal: listing?.legacyTotal ?? null,
      v1Total: listing?.v1Total ?? null,
      v1Healthy: stats?.v1HealthyNodes ?? null,
      truncated: listing !== null && total !== null && nodes.length < total,
      list: nodes,
    },
    counters: { requests, rejections, rateLimited, refused, evictions, outcomes },
    latency: {
      window: 'since_start',
      pickup: single(pickup),
      turnaround: single(turnaround),
      routes: [...byRoute].filter(([, s]) => s.count > 0).map(([route, s]) => ({ route, ...s })),
    },
  };
}
