// The relay's state as one composition: each protocol's transitions (`legacy`, `v1`) around one
// byte budget both halves share, plus what spans them (wake-ups, stats, node listing, health).
// Two backends build it (memory, Redis: src/store/registry.ts) and pass one contract suite per
// protocol (test/store/contract.ts, test/store/contract-v1.ts).
import type { CallerSignal } from '../core/caller-signal.js';
import type { LegacyTransitions } from '../protocols/legacy/types.js';
import type { V1Limits } from '../protocols/v1/limits.js';
import type { V1Capabilities, V1Transitions } from '../protocols/v1/types.js';

export type * from '../protocols/legacy/types.js';
export type * from '../protocols/v1/types.js';
export type { V1Limits } from '../protocols/v1/limits.js';

/**
 * Caps and time-to-lives the store enforces inside its transitions. The API v1 ones are optional
 * (defaults in src/protocols/v1/limits.ts); maxNodes, maxQueuePerClient and maxStoredBytes bound both
 * protocols (each protocol's nodes and client requests are counted separately, bytes together).
 */
export interface StoreLimits extends Partial<V1Limits> {
  nodeTtlMs: number;
  requestTtlMs: number;
  responseTtlMs: number;
  streamTtlMs: number;
  maxNodes: number;
  maxQueuePerNode: number;
  maxQueuePerClient: number;
  maxQueuedTotal: number;
  maxResponses: number;
  maxStreamSessions: number;
  maxStreamChunks: number;
  /** Bytes held for callers, both protocols: ciphertext, chunks, keys, in-flight and session records. */
  maxStoredBytes: number;
  // Per-source shares of the caps anyone can fill (a source is an IPv4 address or an IPv6 /64,
  // as the rate limits key). Absent = the whole cap (no share); defaults in src/protocols/legacy/limits.ts.
  maxStoredBytesPerSource?: number;
  maxNodesPerSource?: number;
  maxQueuePerNodePerSource?: number;
  maxQueuedPerSource?: number;
  maxResponsesPerSource?: number;
  maxStreamSessionsPerSource?: number;
}

/**
 * The per-source shares a store keeps (one ledger or hash each): `bytes` spans both protocols.
 * These names are the only metric labels for share usage (never a source or key).
 */
export const SHARE_CAPS = ['bytes', 'legacy_nodes', 'legacy_queued', 'legacy_responses', 'legacy_streams', 'v1_nodes', 'v1_requests'] as const;
export type ShareCap = (typeof SHARE_CAPS)[number];

/** How full one share is: sources holding anything, the largest single holder, and the share. */
export interface ShareUse {
  sources: number;
  top: number;
  /** The per-source limit (equal to the cap when no share is configured). */
  share: number;
}

export interface StoreStats {
  /** Live compute nodes of both protocols (legacy live + API v1 healthy). */
  nodes: number;
  queuedRequests: number;
  /** Age of the oldest queued request in ms (0 when none). */
  oldestQueuedAgeMs: number;
  inflightRequests: number;
  responses: number;
  streamSessions: number;
  /** Ciphertext bytes held by both protocols. */
  storedBytes: number;
  /** API v1: registered nodes, of which healthy (lease or in-flight lease running). */
  v1Nodes: number;
  v1HealthyNodes: number;
  v1Queued: number;
  v1Inflight: number;
  /** Answered, not yet fetched. */
  v1Responses: number;
  v1Tombstones: number;
  v1OldestQueuedAgeMs: number;
  /** Per-source share usage, by cap kind. */
  shares: Record<ShareCap, ShareUse>;
}

export type StoreHealth = { ok: true } | { ok: false; reason: string };

/** A registration for a wake-up, taken *before* checking state so no wake-up is ever missed. */
export interface Waiter {
  /** Resolves true when woken, false on timeout or abort. */
  wait(timeoutMs: number, signal?: CallerSignal): Promise<boolean>;
  /** Unregisters; a pending wait resolves false, and later waits resolve false at once. */
  close(): void;
}

export type WakeChannel = 'work' | 'response';

/** A live node as /relay/diagnostics shows it: public key and counters, never payloads. */
export interface NodeView {
  protocol: 'legacy' | 'v1';
  key: string;
  /** ms since the node last renewed its lease (v1) or polled (legacy). */
  ageMs: number;
  queueDepth: number;
  inflight: number;
  /** v1 only */
  leaseSeconds?: number;
  capabilities?: V1Capabilities;
  // Detail a backend gives where it has it cheaply (memory); absent means "not known here".
  /** ms since the node registered (this registration). */
  registeredAgoMs?: number;
  /** ms until its lease lapses (0 when only in-flight work keeps it). */
  leaseLeftMs?: number;
  /** Answers it delivered during this registration. */
  served?: number;
  /** Requests it claimed and dropped: its in-flight lease lapsed, or the deadline passed while it held them. */
  failed?: number;
}

export interface NodeListing {
  /** Live nodes, oldest registration first, at most `limit` of each protocol. */
  legacy: NodeView[];
  v1: NodeView[];
  legacyTotal: number;
  v1Total: number;
}

/** The source a store call is charged to when the caller names none (tests, in-process callers). */
export const LOCAL_SOURCE = 'local';

/** The backends the registry knows (src/store/registry.ts). */
export const BACKEND_KINDS = ['memory', 'redis'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export interface RelayStore {
  readonly kind: BackendKind;
  /**
   * Whether the state outlives this process (a shared store other replicas keep serving). A
   * draining replica of a store that does not refuses new work: it would die with the process.
   */
  readonly outlivesProcess: boolean;
  readonly limits: StoreLimits;
  /** The legacy transitions (src/protocols/legacy/types.ts). */
  readonly legacy: LegacyTransitions;
  /** The API v1 transitions (src/protocols/v1/types.ts). */
  readonly v1: V1Transitions;
  /** Register for a wake-up on a node's work queue or a client's response slot. */
  watch(channel: WakeChannel, key: string): Waiter;
  stats(now: number): Promise<StoreStats>;
  /** Live nodes of both protocols for diagnostics (public keys and counters only). */
  listNodes(now: number, limit: number): Promise<NodeListing>;
  /** Canonical dump of all state, for tests that prove a rejected request changed nothing. */
  snapshot(): Promise<unknown>;
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
