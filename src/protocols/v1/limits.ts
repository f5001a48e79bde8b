// The API v1 caps and time-to-lives a store enforces. They ride on StoreLimits as optional
// fields so a backend built from legacy-only limits still gets sane v1 bounds.
import { defaultsOf } from '../../config/env.js';
import { V1_SETTINGS } from '../../config/v1.js';
import type { V1Capabilities } from './types.js';

export interface V1Limits {
  /** A registration or poll keeps a node selectable this long. */
  v1LeaseMs: number;
  /** A claim or control poll keeps a request counted as in flight this long (never past its deadline). */
  v1InflightLeaseMs: number;
  /** Absolute time a request has from admission to answer. */
  v1DeadlineMs: number;
  /** An answered request waits this long for its client to fetch the response. */
  v1ResponseTtlMs: number;
  /** How long a client still learns why a request ended (410 instead of 404). */
  v1TerminalTtlMs: number;
  /** How long the node that held an ended request still learns why (control poll). */
  v1ControlTombstoneTtlMs: number;
  v1MaxQueuePerNode: number;
  /** Live request records: queued, in flight and answered-but-unfetched together. */
  v1MaxRequests: number;
  v1MaxTombstones: number;
  // Per-source shares (invariant 1): the attacker of the threat model has 20-50 addresses, an
  // honest home a few nodes and one chat at a time. Each default lets 50 sources together hold
  // less than the whole cap, so an honest source still finds room.
  /** v1 nodes one source may register (1000 nodes / 64). */
  v1MaxNodesPerSource: number;
  /** Requests one source may have queued on one node (1024 / 64). */
  v1MaxQueuePerNodePerSource: number;
  /** Live requests (queued, in flight, answered-unfetched) one source may hold (10000 / 100). */
  v1MaxRequestsPerSource: number;
  /**
   * An answer handed out for the last time (ack, or a retrieve without id) can be fetched again
   * by its id this long: the reply that carried it may have been lost (a timeout, a failover).
   * Its bytes stay counted until then.
   */
  v1AckReplayMs: number;
}

/**
 * A claimed request whose in-flight lease lapsed (its claimer stopped control-polling) goes back
 * to its node's queue this many times; the next lapse ends it as expired/claimer_lost.
 */
export const V1_MAX_RECLAIMS = 2;

/**
 * What a record costs beyond its strings (map entries, numbers, object headers), charged to the
 * byte ledger with it so that keys, node records and tombstones count too (rough, measured once
 * with many small records; both stores charge the same so the contract holds for both).
 */
export const V1_RECORD_OVERHEAD = 256;
export const V1_TOMB_OVERHEAD = 192;
export const V1_NODE_OVERHEAD = 512;

export function nodeBytes(key: string, capabilities: V1Capabilities): number {
  return V1_NODE_OVERHEAD + key.length + JSON.stringify(capabilities).length;
}

/** The v1 limits when none are given: the config's defaults (src/config/v1.ts), the one source. */
export const V1_DEFAULT_LIMITS: Readonly<V1Limits> = Object.freeze(v1StoreLimits(defaultsOf(V1_SETTINGS)));

/** The v1 limits of a StoreLimits, defaults filled in. */
export function resolveV1Limits(limits: Partial<V1Limits>): V1Limits {
  const out = { ...V1_DEFAULT_LIMITS };
  for (const name of Object.keys(out) as (keyof V1Limits)[]) {
    const value = limits[name];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) out[name] = value;
  }
  return out;
}

export interface V1LimitsConfig {
  v1LeaseSeconds: number;
  v1InflightLeaseSeconds: number;
  v1RequestDeadlineSeconds: number;
  v1ResponseTtlSeconds: number;
  v1TerminalTtlSeconds: number;
  v1ControlTombstoneTtlSeconds: number;
  v1MaxQueuePerNode: number;
  v1MaxRequests: number;
  v1MaxTombstones: number;
  v1MaxNodesPerSource: number;
  v1MaxQueuePerNodePerSource: number;
  v1MaxRequestsPerSource: number;
  v1AckReplaySeconds: number;
}

export function v1StoreLimits(config: V1LimitsConfig): V1Limits {
  return {
    v1LeaseMs: config.v1LeaseSeconds * 1000,
    v1InflightLeaseMs: config.v1InflightLeaseSeconds * 1000,
    v1DeadlineMs: config.v1RequestDeadlineSeconds * 1000,
    v1ResponseTtlMs: config.v1ResponseTtlSeconds * 1000,
    v1TerminalTtlMs: config.v1TerminalTtlSeconds * 1000,
    v1ControlTombstoneTtlMs: config.v1ControlTombstoneTtlSeconds * 1000,
    v1MaxQueuePerNode: config.v1MaxQueuePerNode,
    v1MaxRequests: config.v1MaxRequests,
    v1MaxTombstones: config.v1MaxTombstones,
    v1MaxNodesPerSource: config.v1MaxNodesPerSource,
    v1MaxQueuePerNodePerSource: config.v1MaxQueuePerNodePerSource,
    v1MaxRequestsPerSource: config.v1MaxRequestsPerSource,
    v1AckReplayMs: config.v1AckReplaySeconds * 1000,
  };
}
