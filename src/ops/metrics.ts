// Prometheus metrics on a registry of the relay's own. Labels are bounded: route names from
// the route table, methods from a fixed list, status codes, catalogue reasons. Never keys,
// paths or ids.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { ErrorCode } from '../core/errors.js';
import type { RelayObserver } from '../core/observer.js';
import { CONTROL_STATES, EVICTION_REASONS, type V1Observer } from '../protocols/v1/observer.js';
import { SHARE_CAPS, type ExpiryCounts, type RelayStore, type StoreLimits, type StoreStats } from '../store/types.js';
import { V1_TERMINAL_REASONS, endedFor } from '../protocols/v1/types.js';

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface RelayMetrics {
  readonly registry: Registry;
  readonly observer: RelayObserver;
  /** The same observer plus the API v1 events. */
  readonly v1Observer: V1Observer;
  httpRequest(method: string, endpoint: string, status: number, seconds: number): void;
  setDraining(draining: boolean): void;
}

export function createMetrics(store: RelayStore, clock: Clock, limits: StoreLimits): RelayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'tokenplace_relay_requests_total',
    help: 'HTTP responses by method, route name and status.',
    labelNames: ['method', 'endpoint', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tokenplace_relay_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route name (long-polls included).',
    labelNames: ['endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const pickup = new Histogram({
    name: 'tokenplace_relay_pickup_latency_seconds',
    help: 'From a request accepted to it handed to a compute node.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const turnaround = new Histogram({
    name: 'tokenplace_relay_turnaround_seconds',
    help: 'From a request accepted to its response retrieved by the client.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const expirations = new Counter({
    name: 'tokenplace_relay_expirations_total',
    help: 'State removed after its time-to-live, by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'tokenplace_relay_rejections_total',
    help: 'Requests refused by a cap or a missing target, by reason (error code).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const draining = new Gauge({ name: 'tokenplace_relay_draining', help: '1 while the relay is shutting down.', registers: [registry] });
  draining.set(0);

  const limit = new Gauge({ name: 'tokenplace_relay_limit', help: 'Configured caps and time-to-lives (ms for *_ttl_ms).', labelNames: ['name'] as const, registers: [registry] });
  for (const [name, value] of Object.entries(limits) as [string, number][]) limit.set({ name: name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) }, value);

  // State gauges are read from the store at scrape time, so they are right on every replica.
  // One store round trip serves every gauge of a scrape (they collect concurrently).
  let pending: { at: number; stats: Promise<StoreStats | null> } | undefined;
  const statsForScrape = (): Promise<StoreStats | null> => {
    const now = Date.now();
    if (pending === undefined || now - pending.at > 250) {
      pending = { at: now, stats: store.stats(clock.now()).catch(() => null) };
    }
    return pending.stats;
  };
  const stateGauge = (name: string, help: string, read: (stats: StoreStats) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const stats = await statsForScrape();
        if (stats !== null) this.set(read(stats));
      },
    });
  };
  stateGauge('tokenplace_relay_nodes', 'Live compute nodes (seen within the node TTL or busy with claimed work).', (s) => s.nodes);
  stateGauge('tokenplace_relay_queued_requests', 'Requests waiting for a compute node.', (s) => s.queuedRequests);
  stateGauge('tokenplace_relay_oldest_queued_age_seconds', 'Age of the oldest queued request.', (s) => s.oldestQueuedAgeMs / 1000);
  stateGauge('tokenplace_relay_inflight_requests', 'Requests claimed by a node and not yet answered.', (s) => s.inflightRequests);
  stateGauge('tokenplace_relay_stored_responses', 'Responses waiting for their client.', (s) => s.responses);
  stateGauge('tokenplace_relay_stream_sessions', 'Open stream sessions.', (s) => s.streamSessions);
  stateGauge('tokenplace_relay_stored_bytes', 'Ciphertext bytes held in queued requests and responses.', (s) => s.storedBytes);
  new Gauge({
    name: 'tokenplace_relay_store_up',
    help: '1 when the state store answers.',
    registers: [registry],
    async collect() {
      this.set((await statsForScrape()) === null ? 0 : 1);
    },
  });

  // Per-source shares: labelled by cap kind only (SHARE_CAPS), never by source or key. A top
  // ratio near 1 means one source holds its whole share (refusals follow, by reason code).
  const shareGauge = (name: string, help: string, read: (use: StoreStats['shares'][keyof StoreStats['shares']]) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['cap'] as const,
      registers: [registry],
      async collect() {
        const stats = await statsForScrape();
        if (stats === null) return;
        for (const cap of SHARE_CAPS) this.set({ cap }, read(stats.shares[cap]));
      },
    });
  };
  shareGauge('tokenplace_relay_share_sources', 'Sources holding anything of a per-source share, by cap kind.', (u) => u.sources);
  shareGauge('tokenplace_relay_share_top_ratio', "The largest single source's use divided by its share (per-source limit), by cap kind.", (u) => (u.share > 0 ? u.top / u.share : 0));

  // API v1 (labels from fixed sets only).
  stateGauge('tokenplace_compute_nodes_registered', 'Registered API v1 compute nodes.', (s) => s.v1Nodes);
  stateGauge('tokenplace_compute_nodes_healthy', 'API v1 compute nodes with a running lease or in-flight lease.', (s) => s.v1HealthyNodes);
  stateGauge('tokenplace_relay_v1_in_flight_requests', 'API v1 requests claimed by a node and not yet answered.', (s) => s.v1Inflight);
  stateGauge('tokenplace_relay_v1_stored_responses', 'API v1 answers waiting for their client.', (s) => s.v1Responses);
  stateGauge('tokenplace_relay_v1_tombstones', 'Ended API v1 requests remembered for late callers.', (s) => s.v1Tombstones);
  stateGauge('tokenplace_relay_v1_oldest_queued_age_seconds', 'Age of the oldest queued API v1 request.', (s) => s.v1OldestQueuedAgeMs / 1000);
  new Gauge({
    name: 'tokenplace_relay_queue_depth',
    help: 'Requests waiting for a compute node, by protocol.',
    labelNames: ['protocol'] as const,
    registers: [registry],
    async collect() {
      const stats = await statsForScrape();
      if (stats === null) return;
      this.set({ protocol: 'legacy' }, stats.queuedRequests);
      this.set({ protocol: 'v1' }, stats.v1Queued);
    },
  });
  const outcomes = new Counter({
    name: 'tokenplace_relay_request_outcomes_total',
    help: 'API v1 requests by terminal outcome and reason, counted once per request.',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
  });
  outcomes.inc({ outcome: 'completed', reason: 'completed' }, 0);
  for (const reason of V1_TERMINAL_REASONS) for (const status of ['cancelled', 'expired'] as const) outcomes.inc(endedFor(status, reason), 0);
  const controlPolls = new Counter({
    name: 'tokenplace_relay_compute_control_requests_total',
    help: 'API v1 compute-node control polls by the state they were told.',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  for (const state of CONTROL_STATES) controlPolls.inc({ state }, 0);
  const leaseRenewals = new Counter({
    name: 'tokenplace_relay_compute_control_lease_renewals_total',
    help: 'In-flight leases renewed by API v1 control polls.',
    registers: [registry],
  });
  const evictions = new Counter({
    name: 'tokenplace_compute_node_evictions_total',
    help: 'API v1 compute nodes removed, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of EVICTION_REASONS) evictions.inc({ reason }, 0);

  const requestChildren = new Map<string, { inc(): void }>();
  const durationChildren = new Map<string, { observe(value: number): void }>();

  const observer: RelayObserver = {
    pickedUp: (ms) => pickup.observe(ms / 1000),
    turnaround: (ms) => turnaround.observe(ms / 1000),
    rejected: (reason: ErrorCode) => rejections.inc({ reason }),
    expired: (counts: ExpiryCounts) => {
      for (const [kind, n] of Object.entries(counts) as [string, number][]) if (n > 0) expirations.inc({ kind }, n);
    },
  };

  const v1Observer: V1Observer = {
    ...observer,
    ended: (event) => outcomes.inc({ outcome: event.outcome, reason: event.reason }),
    controlPoll: (state) => controlPolls.inc({ state }),
    inflightLeaseRenewed: () => leaseRenewals.inc(),
    evicted: (reason, count) => evictions.inc({ reason }, count),
  };

  return {
    registry,
    observer,
    v1Observer,
    httpRequest(method, endpoint, status, seconds) {
      // Label children are cached: the label sets are bounded, and resolving labels on every
      // request was a measurable share of a /healthz answer.
      const m = METHODS.has(method) ? method : 'OTHER';
      const id = `${m} ${endpoint} ${status}`;
      let counter = requestChildren.get(id);
      if (counter === undefined) {
        counter = requests.labels(m, endpoint, String(status));
        requestChildren.set(id, counter);
      }
      counter.inc();
      let timer = durationChildren.get(endpoint);
      if (timer === undefined) {
        timer = duration.labels(endpoint);
        durationChildren.set(endpoint, timer);
      }
      timer.observe(seconds);
    },
    setDraining: (value) => draining.set(value ? 1 : 0),
  };
}
