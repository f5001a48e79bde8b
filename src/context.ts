// Everything a request handler may use, built once per app: config, store, clock, the relay
// domain objects, metrics, drain state. Routes reach it as `app.relay`.
import type { Logger } from 'pino';
import type { Clock } from './core/clock.js';
import type { Config } from './config.js';
import type { Drain } from './core/drain.js';
import type { MemoryReclaimer } from './memory/reclaim.js';
import type { RelayMetrics } from './ops/metrics.js';
import { LegacyRelay } from './protocols/legacy/relay.js';
import { V1Relay } from './protocols/v1/relay.js';
import type { RelayStore } from './store/types.js';

export interface RelayContext {
  readonly config: Config;
  readonly store: RelayStore;
  readonly clock: Clock;
  readonly drain: Drain;
  readonly metrics: RelayMetrics;
  readonly legacy: LegacyRelay;
  /** The API v1 relay protocol (src/protocols/v1/relay.ts). */
  readonly v1: V1Relay;
  readonly logger: Logger;
  /** Memory reclaim after large expiries, when the backend keeps its state in this heap (else null). */
  readonly reclaimer: MemoryReclaimer | null;
}

export function createRelayContext(deps: Omit<RelayContext, 'legacy' | 'v1'>): RelayContext {
  const { config, store, clock, drain, metrics } = deps;
  const legacy = new LegacyRelay(
    store,
    clock,
    { sinkHoldMs: config.sinkHoldMs, retrieveHoldMs: config.retrieveHoldMs, pingIntervalSeconds: config.pingIntervalSeconds },
    metrics.observer,
    drain.signal,
  );
  const v1 = new V1Relay(
    store,
    clock,
    {
      leaseSeconds: config.v1LeaseSeconds,
      pollWaitSeconds: config.v1PollWaitSeconds,
      inflightLeaseSeconds: config.v1InflightLeaseSeconds,
      retrieveHoldMs: config.retrieveHoldMs,
    },
    metrics.v1Observer,
    drain.signal,
  );
  return Object.freeze({ ...deps, legacy, v1 });
}
