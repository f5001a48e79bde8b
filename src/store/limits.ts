import type { Config } from '../config.js';
import type { StoreLimits } from './types.js';
import { v1StoreLimits } from './v1-limits.js';

/** The caps and time-to-lives a store enforces, derived from the frozen config. */
export function storeLimits(config: Config): StoreLimits {
  return {
    nodeTtlMs: config.pingIntervalSeconds * config.nodeExpiryPings * 1000,
    requestTtlMs: config.requestTtlSeconds * 1000,
    responseTtlMs: config.responseTtlSeconds * 1000,
    streamTtlMs: config.streamTtlSeconds * 1000,
    maxNodes: config.maxNodes,
    maxQueuePerNode: config.maxQueuePerNode,
    maxQueuePerClient: config.maxQueuePerClient,
    maxQueuedTotal: config.maxQueuedTotal,
    maxResponses: config.maxResponses,
    maxStreamSessions: config.maxStreamSessions,
    maxStreamChunks: config.maxStreamChunks,
    maxStoredBytes: config.maxStoredBytes,
    ...v1StoreLimits(config),
  };
}
