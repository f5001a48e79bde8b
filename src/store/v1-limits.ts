// The API v1 caps and time-to-lives a store enforces. They ride on StoreLimits as optional
// fields so a backend built from legacy-only limits still gets sane v1 bounds.
import type { StoreLimits } from './types.js';

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
}

export const V1_DEFAULT_LIMITS: Readonly<V1Limits> = Object.freeze({
  v1LeaseMs: 30_000,
  v1InflightLeaseMs: 30_000,
  v1DeadlineMs: 480_000,
  v1ResponseTtlMs: 300_000,
  v1TerminalTtlMs: 300_000,
  v1ControlTombstoneTtlMs: 60_000,
  v1MaxQueuePerNode: 1024,
  v1MaxRequests: 10_000,
  v1MaxTombstones: 20_000,
});

/** The v1 limits of a StoreLimits, defaults filled in. */
export function resolveV1Limits(limits: StoreLimits): V1Limits {
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
  };
}
