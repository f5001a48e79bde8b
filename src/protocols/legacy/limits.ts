// The legacy protocol's shares of the caps anyone can fill, and what its records cost beyond their keys.
import type { StoreLimits } from '../../store/types.js';

/** The legacy protocol's per-source shares, each at most its cap (absent = the whole cap). */
export interface LegacyShares {
  bytes: number;
  nodes: number;
  queuePerNode: number;
  queued: number;
  responses: number;
  streams: number;
}

export function legacyShares(limits: StoreLimits): LegacyShares {
  const share = (value: number | undefined, cap: number) => Math.min(cap, value ?? cap);
  return {
    bytes: share(limits.maxStoredBytesPerSource, limits.maxStoredBytes),
    nodes: share(limits.maxNodesPerSource, limits.maxNodes),
    queuePerNode: share(limits.maxQueuePerNodePerSource, limits.maxQueuePerNode),
    queued: share(limits.maxQueuedPerSource, limits.maxQueuedTotal),
    responses: share(limits.maxResponsesPerSource, limits.maxResponses),
    streams: share(limits.maxStreamSessionsPerSource, limits.maxStreamSessions),
  };
}

/** Bytes a node-table entry holds beyond its key: last-seen time and bookkeeping (a fixed estimate). */
export const NODE_RECORD_BYTES = 32;
/** An in-flight job record (node key, times) beyond its keys. */
export const JOB_RECORD_BYTES = 32;
/** A stream session record (id, client key, counters) beyond its keys. */
export const SESSION_RECORD_BYTES = 64;
