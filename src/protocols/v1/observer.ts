// What the API v1 domain reports as it works; src/ops/metrics.ts listens. Every label value comes
// from a fixed set (never keys, request ids or payloads).
import type { V1Ended } from './types.js';
import { silentObserver, type RelayObserver } from '../../core/observer.js';

/** States of a control poll as counted (upstream's names). */
export const CONTROL_STATES = ['active', 'cancelled', 'expired', 'acknowledged', 'completed_unavailable', 'forbidden'] as const;
export type ControlState = (typeof CONTROL_STATES)[number];

export const EVICTION_REASONS = ['stale_lease', 'unregistered'] as const;
export type EvictionReason = (typeof EVICTION_REASONS)[number];

export interface V1Observer extends RelayObserver {
  /** A request left the active set, once per request. */
  ended(event: V1Ended): void;
  /** A node's control poll and the state it was told. */
  controlPoll(state: ControlState): void;
  /** A control poll renewed an in-flight lease. */
  inflightLeaseRenewed(): void;
  evicted(reason: EvictionReason, count: number): void;
}

export const silentV1Observer: V1Observer = {
  ...silentObserver,
  ended: () => {},
  controlPoll: () => {},
  inflightLeaseRenewed: () => {},
  evicted: () => {},
};
