// The caps and time-to-lives the store enforces, derived once from the frozen config.
import type { Config } from '../config.js';
import { v1StoreLimits } from '../protocols/v1/limits.js';
import type { StoreLimits } from './types.js';

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
    maxStoredBytesPerSource: config.maxStoredBytesPerSource,
    maxNodesPerSource: config.maxNodesPerSource,
    maxQueuePerNodePerSource: config.maxQueuePerNodePerSource,
    maxQueuedPerSource: config.maxQueuedPerSource,
    maxResponsesPerSource: config.maxResponsesPerSource,
    maxStreamSessionsPerSource: config.maxStreamSessionsPerSource,
    ...v1StoreLimits(config),
  };
}
