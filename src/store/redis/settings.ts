// The settings every relay script reads from ARGV[1] (src/store/redis/lua/common.lua): one
// MessagePack array per store, built once at start from its limits, its values in SETTING_NAMES
// order (common.lua unpacks them into locals of those names, in that order). An array, not a
// JSON or MessagePack object: every script decodes its settings on every call, and unpacking an
// array costs Redis a fraction of decoding the same values with their names. Nothing here is compiled into script
// text, so every replica loads byte-identical scripts (one SHA1 across the fleet), and a replica
// always enforces the caps it was configured with, also while a rolling change runs replicas on
// two configs against the same state (README, "Rolling config changes").
import type { StoreLimits } from '../types.js';
import { JOB_RECORD_BYTES, NODE_RECORD_BYTES, SESSION_RECORD_BYTES, legacyShares } from '../../protocols/legacy/limits.js';
import { NATIVE_GRACE_MS, SWEEP_BATCH, indexTtlMs } from '../../protocols/legacy/redis-keys.js';
import { V1_MAX_RECLAIMS, V1_RECORD_OVERHEAD, V1_TOMB_OVERHEAD, resolveV1Limits } from '../../protocols/v1/limits.js';
import { CONTEXT_TIER_TOKENS } from '../../protocols/v1/types.js';
import { EXPLORE_EVERY } from '../../protocols/v1/selection.js';
import { pack, type Packable } from './msgpack.js';

/** The settings' order in ARGV[1]: the same names, in the same order, as common.lua's unpack. */
export const SETTING_NAMES = [
  'nodeTtlMs',
  'requestTtlMs',
  'responseTtlMs',
  'streamTtlMs',
  'maxNodes',
  'maxQueuePerNode',
  'maxQueuePerClient',
  'maxQueuedTotal',
  'maxResponses',
  'maxStreamSessions',
  'maxStreamChunks',
  'maxStoredBytes',
  'bytesShare',
  'nodesShare',
  'queuePerNodeShare',
  'queuedShare',
  'responsesShare',
  'streamsShare',
  'nodeRecordBytes',
  'jobRecordBytes',
  'sessionRecordBytes',
  'nativeGraceMs',
  'sweepBatch',
  'indexTtlMs',
  'v1LeaseMs',
  'v1InflightLeaseMs',
  'v1DeadlineMs',
  'v1ResponseTtlMs',
  'v1TerminalTtlMs',
  'v1ControlTombstoneTtlMs',
  'v1MaxQueuePerNode',
  'v1MaxRequests',
  'v1MaxTombstones',
  'v1MaxNodesPerSource',
  'v1MaxQueuePerNodePerSource',
  'v1MaxRequestsPerSource',
  'v1MaxReclaims',
  'v1RecordOverhead',
  'v1TombOverhead',
  'contextTiers',
  'exploreEvery',
] as const;

/** ARGV[1] of every relay script: settingValues(limits) packed in SETTING_NAMES order. */
export function scriptSettings(limits: StoreLimits): Buffer {
  const values = settingValues(limits);
  const names = Object.keys(values);
  if (names.length !== SETTING_NAMES.length || names.some((name) => !(SETTING_NAMES as readonly string[]).includes(name)))
    throw new Error('script settings and SETTING_NAMES disagree');
  // A nil in the array would end Lua's unpack early: every setting must have a value.
  if (SETTING_NAMES.some((name) => values[name] === null || values[name] === undefined)) throw new Error('a script setting has no value');
  return pack(SETTING_NAMES.map((name) => values[name]!));
}

/** Field names match the TypeScript limits they come from; the preludes read them by name. */
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
