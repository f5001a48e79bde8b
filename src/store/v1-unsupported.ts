// Placeholder API v1 transitions for a backend that does not implement them yet (the Redis
// store, until its Lua scripts for v1 land). Every v1 transition fails with a 503
// store_unavailable instead of silently keeping process-local state that other replicas cannot
// see; the sweep and the read-only views report empty v1 state.
import { StoreUnavailableError } from '../errors.js';
import type { NodeListing, V1ExpiryReport } from './v1-types.js';
import type { RelayStore, StoreStats } from './types.js';

type V1Method =
  | 'registerNode'
  | 'renewLease'
  | 'selectNode'
  | 'admitRequest'
  | 'claimRequest'
  | 'renewInflight'
  | 'acceptResponse'
  | 'retrieveResponse'
  | 'cancelRequest'
  | 'recordProgress'
  | 'unregisterNode'
  | 'expireV1'
  | 'listNodes';

export type V1Transitions = Pick<RelayStore, V1Method>;

const unsupported = async (): Promise<never> => {
  throw new StoreUnavailableError('api_v1_not_supported_by_store');
};

export const V1_UNSUPPORTED: V1Transitions = {
  registerNode: unsupported,
  renewLease: unsupported,
  selectNode: unsupported,
  admitRequest: unsupported,
  claimRequest: unsupported,
  renewInflight: unsupported,
  acceptResponse: unsupported,
  retrieveResponse: unsupported,
  cancelRequest: unsupported,
  recordProgress: unsupported,
  unregisterNode: unsupported,
  expireV1: async (): Promise<V1ExpiryReport> => ({ evictedNodes: 0, ended: [], expiredResponses: 0, prunedTombstones: 0 }),
  listNodes: async (): Promise<NodeListing> => ({ legacy: [], v1: [], legacyTotal: 0, v1Total: 0 }),
};

export const V1_EMPTY_STATS: Pick<StoreStats, 'v1Nodes' | 'v1HealthyNodes' | 'v1Queued' | 'v1Inflight' | 'v1Responses' | 'v1Tombstones' | 'v1OldestQueuedAgeMs'> = {
  v1Nodes: 0,
  v1HealthyNodes: 0,
  v1Queued: 0,
  v1Inflight: 0,
  v1Responses: 0,
  v1Tombstones: 0,
  v1OldestQueuedAgeMs: 0,
};
