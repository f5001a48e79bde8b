// The settings every relay script reads from ARGV[1] (src/store/redis/lua/common.lua): one
// MessagePack array per store, built once at start from its limits, its values in settingValues'
// order (common.lua unpacks them into locals of those names, in that order). An array, not a
// JSON or MessagePack object: every script decodes its settings on every call, and unpacking an
// array costs Redis a fraction of decoding the same values with their names. Nothing here is
// compiled into script text, so every replica loads byte-identical scripts (one SHA1 across the
// fleet), and a replica always enforces the caps it was configured with, also while a rolling
// change runs replicas on two configs against the same state (README, "Rolling config changes").
import type { StoreLimits } from '../types.js';
import { JOB_RECORD_BYTES, NODE_RECORD_BYTES, SESSION_RECORD_BYTES, legacyShares } from '../../protocols/legacy/limits.js';
import { NATIVE_GRACE_MS, SWEEP_BATCH, indexTtlMs } from '../../protocols/legacy/redis-keys.js';
import { V1_MAX_RECLAIMS, V1_RECORD_OVERHEAD, V1_TOMB_OVERHEAD, resolveV1Limits } from '../../protocols/v1/limits.js';
import { CONTEXT_TIER_TOKENS } from '../../protocols/v1/types.js';
import { EXPLORE_EVERY } from '../../protocols/v1/selection.js';
import { pack, type Packable } from './msgpack.js';

/**
 * ARGV[1] of every relay script: the values of settingValues(limits), packed in its field order,
 * which is the order common.lua unpacks them into locals of the same names
 * (test/store/redis-lua.test.ts holds the two in agreement).
 */
export function scriptSettings(limits: StoreLimits): Buffer {
  const values = Object.values(settingValues(limits));
  // A nil in the array would end Lua's unpack early: every setting must have a value.
  if (values.some((value) => value === null || value === undefined)) throw new Error('a script setting has no value');
  return pack(values);
}

/** In the order common.lua unpacks them; field names match the TypeScript limits they come from. */
export function settingValues(limits: StoreLimits): Record<string, Packable> {
  const shares = legacyShares(limits);
  const v1 = resolveV1Limits(limits);
  return {
    nodeTtlMs: limits.nodeTtlMs,
    requestTtlMs: limits.requestTtlMs,
    responseTtlMs: limits.responseTtlMs,
    streamTtlMs: limits.streamTtlMs,
    maxNodes: limits.maxNodes,
    maxQueuePerNode: limits.maxQueuePerNode,
    maxQueuePerClient: limits.maxQueuePerClient,
    maxQueuedTotal: limits.maxQueuedTotal,
    maxResponses: limits.maxResponses,
    maxStreamSessions: limits.maxStreamSessions,
    maxStreamChunks: limits.maxStreamChunks,
    maxStoredBytes: limits.maxStoredBytes,
    bytesShare: shares.bytes,
    nodesShare: shares.nodes,
    queuePerNodeShare: shares.queuePerNode,
    queuedShare: shares.queued,
    responsesShare: shares.responses,
    streamsShare: shares.streams,
    nodeRecordBytes: NODE_RECORD_BYTES,
    jobRecordBytes: JOB_RECORD_BYTES,
    sessionRecordBytes: SESSION_RECORD_BYTES,
    nativeGraceMs: NATIVE_GRACE_MS,
    sweepBatch: SWEEP_BATCH,
    indexTtlMs: indexTtlMs(limits),
    ...v1,
    v1MaxReclaims: V1_MAX_RECLAIMS,
    v1RecordOverhead: V1_RECORD_OVERHEAD,
    v1TombOverhead: V1_TOMB_OVERHEAD,
    contextTiers: CONTEXT_TIER_TOKENS,
    exploreEvery: EXPLORE_EVERY,
  };
}
