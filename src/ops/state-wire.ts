// The /ops/state document, as src/ops/state.ts builds it and the operator page (web/ops) reads it.
// Types only, no runtime imports, so the page's bundle can share them.

/** A histogram summarised: percentiles estimated from its buckets (seconds). */
export interface LatencySummary {
  count: number;
  /** Mean in seconds (sum / count), null without observations. */
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  /** The highest finite bucket bound: a percentile equal to it may be larger. */
  maxBoundSeconds: number;
}

/** One node as the page shows it: the key reduced to its fingerprint, extras only when present. */
export interface OpsNode {
  protocol: 'legacy' | 'v1';
  fingerprint: string;
  label?: string;
  ageSeconds: number;
  queueDepth: number;
  inflight: number;
  leaseSeconds: number | null;
  served?: number;
  failed?: number;
  /** Seconds until the lease lapses, and since the node registered, where the backend knows them. */
  leaseLeftSeconds?: number;
  registeredSeconds?: number;
  models: string[];
  contextTier: string | null;
  maxConcurrency: number | null;
  backendClass: string | null;
}

/** A counter summed over every label but the named ones. */
export type CounterRow<K extends string> = Record<K, string> & { count: number };

export interface OpsState {
  generatedAt: string;
  status: 'ok' | 'draining' | 'degraded';
  draining: boolean;
  build: {
    name: string;
    packageVersion: string;
    release: string;
    environment: string;
    label: string;
    ref?: string;
    node: string;
    replica: string;
    startedAt: string;
    uptimeSeconds: number;
  };
  store: { kind: string; ok: boolean; reason?: string; sharedAcrossReplicas: boolean; storedBytes: number | null; maxStoredBytes: number };
  queues: null | {
    legacy: { queued: number; oldestAgeSeconds: number; inflight: number; responses: number; streams: number };
    v1: { queued: number; oldestAgeSeconds: number; inflight: number; responses: number; tombstones: number };
    maxQueued: number;
  };
  nodes: {
    live: number | null;
    total: number | null;
    legacyTotal: number | null;
    v1Total: number | null;
    v1Healthy: number | null;
    truncated: boolean;
    list: OpsNode[];
  };
  /** Running totals of this replica since it started; the page takes rates between two polls. */
  counters: {
    requests: CounterRow<'endpoint' | 'status'>[];
    rejections: CounterRow<'reason'>[];
    rateLimited: CounterRow<'budget' | 'reason'>[];
    refused: CounterRow<'kind'>[];
    evictions: CounterRow<'reason'>[];
    outcomes: CounterRow<'outcome' | 'reason'>[];
  };
  latency: { window: string; pickup: LatencySummary | null; turnaround: LatencySummary | null; routes: (LatencySummary & { route: string })[] };
}
