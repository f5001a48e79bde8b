// Prometheus metrics on a registry of the relay's own. Labels are bounded: route names from
// the route table, methods from a fixed list, status codes, catalogue reasons. Never keys,
// paths or ids.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { ErrorCode } from '../core/errors.js';
import { NODE_EVENTS, type NodeEvent, type RelayObserver } from '../core/observer.js';
import type { BuildInfo } from './build-info.js';
import { CONTROL_STATES, EVICTION_REASONS, type V1Observer } from '../protocols/v1/observer.js';
import type { ExpiryCounts, RelayStore, StoreLimits } from '../store/types.js';
import { V1_TERMINAL_REASONS, endedFor } from '../protocols/v1/types.js';
import { registerStoreGauges } from './store-gauges.js';

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

export interface MetricsOptions {
  /** Where compute-node lifecycle events go besides their counter (the log: src/ops/node-log.ts). */
  onNodeEvent?: (event: NodeEvent) => void;
  /** The labels of tokenplace_build_info ('unknown' each when not given). */
  build?: BuildInfo;
}

export function createMetrics(store: RelayStore, clock: Clock, limits: StoreLimits, options: MetricsOptions = {}): RelayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const build = new Gauge({
    name: 'tokenplace_build_info',
    help: 'Always 1; the labels say which release and source revision this process runs.',
    labelNames: ['version', 'revision'] as const,
    registers: [registry],
  });
  build.set({ version: options.build?.version ?? 'unknown', revision: options.build?.revision ?? 'unknown' }, 1);

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

  const limit = new Gauge({
    name: 'tokenplace_relay_limit',
    help: 'Configured caps and time-to-lives (ms for *_ttl_ms).',
    labelNames: ['name'] as const,
    registers: [registry],
  });
  for (const [name, value] of Object.entries(limits) as [string, number][]) limit.set({ name: name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) }, value);

  registerStoreGauges(registry, store, clock);

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

  const nodeEvents = new Counter({
    name: 'tokenplace_relay_node_events_total',
    help: 'Compute-node lifecycle events (registered, renewed after a silence, evicted, unregistered, expired), by protocol.',
    labelNames: ['protocol', 'event'] as const,
    registers: [registry],
  });
  for (const protocol of ['legacy', 'v1'] as const) for (const event of NODE_EVENTS) nodeEvents.inc({ protocol, event }, 0);
  const onNodeEvent = options.onNodeEvent;

  const requestChildren = new Map<string, { inc(): void }>();
  const durationChildren = new Map<string, { observe(value: number): void }>();

  const observer: RelayObserver = {
    pickedUp: (ms) => pickup.observe(ms / 1000),
    turnaround: (ms) => turnaround.observe(ms / 1000),
    rejected: (reason: ErrorCode) => rejections.inc({ reason }),
    expired: (counts: ExpiryCounts) => {
      for (const kind of ['nodes', 'requests', 'responses', 'streams'] as const) if (counts[kind] > 0) expirations.inc({ kind }, counts[kind]);
    },
    node: (event) => {
      nodeEvents.inc({ protocol: event.protocol, event: event.event }, event.count);
      onNodeEvent?.(event);
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
