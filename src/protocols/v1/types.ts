// Data shapes of the API v1 relay protocol as the store holds them (protocol.md §E.3). The
// transitions that use them are declared, with their contracts, on RelayStore in types.ts.
// Everything here is ciphertext, public keys, digests and timestamps (ms epoch): the store
// never sees a control credential or a cancel token, only their SHA-256 digests.
import { createHash } from 'node:crypto';

/** Context tiers a node can serve, with the context window each one promises. */
export const CONTEXT_TIER_TOKENS = { '8k-fast': 8192, '64k-full': 65536 } as const;
export type ContextTier = keyof typeof CONTEXT_TIER_TOKENS;

export function isContextTier(value: unknown): value is ContextTier {
  return typeof value === 'string' && Object.hasOwn(CONTEXT_TIER_TOKENS, value);
}

/** What a node says it can do, already validated and normalised by the domain. */
export interface V1Capabilities {
  /** Lower-case, de-duplicated; empty means "not schedulable" (registered without capabilities). */
  supportedModelIds: string[];
  contextTier: ContextTier;
  maxContextTokens: number;
  defaultOutputReservation: number;
  maxOutputTokens: number;
  maxConcurrency: number;
  backendClass: string;
}

/** The three ciphertext fields of the hybrid scheme (protocol.md §D), opaque to the relay. */
export interface V1Ciphertext {
  ciphertext: string;
  cipherkey: string;
  iv: string;
}

export type V1TerminalStatus = 'cancelled' | 'expired';

/** Why a request ended without an answer: a fixed set (metrics labels and 410 bodies). */
export const V1_TERMINAL_REASONS = [
  'cancelled',
  'client_timeout',
  'expired',
  'requester_cancelled',
  'requester_gave_up',
  'provider_timeout',
  'pending_request_ttl_exceeded',
  'server_unregistered',
  // Its claimer stopped control-polling (lease lapsed) once too often: see V1_MAX_RECLAIMS.
  'claimer_lost',
] as const;
export type V1TerminalReason = (typeof V1_TERMINAL_REASONS)[number];

/** Terminal outcome of a request, counted once per request. */
export const V1_OUTCOMES = ['completed', 'cancelled', 'expired', 'timed_out'] as const;
export type V1Outcome = (typeof V1_OUTCOMES)[number];

/** One request leaving the active set (queued or in flight), reported for metrics. */
export interface V1Ended {
  outcome: V1Outcome;
  reason: V1TerminalReason | 'completed';
}

export function endedFor(status: V1TerminalStatus, reason: V1TerminalReason): V1Ended {
  return { outcome: reason === 'provider_timeout' ? 'timed_out' : status, reason };
}

export interface V1NewRequest extends V1Ciphertext {
  nodeKey: string;
  clientKey: string;
  requestId: string;
  /** SHA-256 hex of the client's cancel token, or null when it sent none (then nobody can cancel). */
  cancelTokenDigest: string | null;
  /** Who submitted it (addressLimitKey): its bytes and its request count are charged there. */
  source?: string;
}

/**
 * Options of the transitions that prove or grow something (all optional, so callers that
 * predate them keep today's behaviour). `source` is the caller's address (addressLimitKey);
 * `credentialDigest` the SHA-256 of the control credential the caller presented, if any.
 */
export interface V1CallOptions {
  source?: string;
  credentialDigest?: string | null;
  /** On an answer: the node the caller says it is (upstream nodes do not say). */
  nodeKey?: string | null;
  /** On a retrieve: the client has the answer; drop it. */
  ack?: boolean;
}

/** Where a caller without a known address is charged (tests, internal callers). */
export const UNKNOWN_SOURCE = '-';

/**
 * Digest of the bytes that make an admission: the same request id with the same digest is a
 * retry (answered with the first admission), with another digest a conflict.
 */
export function admissionDigest(request: V1NewRequest): string {
  return createHash('sha256')
    .update([request.nodeKey, request.ciphertext, request.cipherkey, request.iv, request.cancelTokenDigest ?? ''].join('\u0000'), 'utf8')
    .digest('hex');
}

/** What a poll hands to the node that claimed a request. */
export interface V1ClaimedRequest extends V1Ciphertext {
  clientKey: string;
  requestId: string;
  admittedAt: number;
  /** The absolute deadline set at admission; never moved. */
  deadlineAt: number;
}

export interface V1StoredResponse extends V1Ciphertext {
  clientKey: string;
  requestId: string;
  admittedAt: number;
  completedAt: number;
}

/** Refusals of a node that is bound to its credential: none presented, or a wrong one. */
export type V1OwnerRefusal = 'node_credential_required' | 'invalid_control_credential';

export type V1RegisterOutcome =
  | { ok: true; created: boolean; credentialIssued: boolean }
  | { ok: false; reason: 'relay_node_limit' | 'source_node_share_exceeded' | 'source_bytes_share_exceeded' | V1OwnerRefusal };

export type V1LeaseOutcome = { ok: true } | { ok: false; reason: 'node_not_found' | V1OwnerRefusal };

export type V1AdmitOutcome =
  | { ok: true; deadlineAt: number; queueDepth: number; duplicate?: true }
  | {
      ok: false;
      reason:
        | 'node_not_found'
        | 'node_queue_full'
        | 'client_queue_full'
        | 'relay_queue_full'
        | 'request_id_conflict'
        | 'source_request_share_exceeded'
        | 'source_queue_share_exceeded'
        | 'source_bytes_share_exceeded';
    };

export type V1ClaimOutcome = { ok: true; request: V1ClaimedRequest | null; ended: V1Ended[] } | { ok: false; reason: 'node_not_found' | V1OwnerRefusal };

export type V1ControlOutcome =
  | { ok: true; status: 'active'; deadlineAt: number }
  | { ok: true; status: V1TerminalStatus; deadlineAt: number | null; acknowledged: boolean; ended: V1Ended[] }
  | { ok: true; status: 'unavailable' }
  | { ok: false; reason: 'forbidden' };

export type V1GoneStatus = V1TerminalStatus | 'completed' | 'gone';

export type V1AcceptOutcome =
  | { ok: true; duplicate: boolean; ended: V1Ended[] }
  | { ok: false; reason: 'request_gone'; status: V1GoneStatus; ended: V1Ended[] }
  | { ok: false; reason: 'response_store_full' | 'source_bytes_share_exceeded' | 'request_not_claimed' | V1OwnerRefusal };

export type V1RetrieveOutcome =
  | { kind: 'response'; response: V1StoredResponse }
  | { kind: 'pending'; deadlineAt: number; progress: V1Ciphertext | null }
  | { kind: 'terminal'; status: V1TerminalStatus; reason: V1TerminalReason; ended: V1Ended[] }
  | { kind: 'unknown' };

export type V1CancelOutcome = { ok: true; status: V1TerminalStatus; removedFromQueue: number; ended: V1Ended[] } | { ok: false; reason: 'forbidden' };

export type V1ProgressOutcome = { ok: true; replaced: boolean } | { ok: false; reason: 'forbidden' | 'not_active' | 'response_store_full' | 'source_bytes_share_exceeded' };

export type V1UnregisterOutcome = { ok: true; removed: boolean; ended: V1Ended[] } | { ok: false; reason: 'forbidden' };

export interface V1SelectQuery {
  /** Normalised (lower-case, aliases resolved) model id. */
  model: string;
  contextTier: ContextTier;
}

export interface V1NodeLoad {
  queueDepth: number;
  /** Claimed requests whose in-flight lease is still running. */
  inflight: number;
  maxConcurrency: number;
  /** (queueDepth + inflight) / maxConcurrency */
  loadScore: number;
}

export type V1Selection =
  | {
      ok: true;
      nodeKey: string;
      capabilities: V1Capabilities;
      load: V1NodeLoad;
      eligibleCount: number;
      eligibleTierCounts: Record<string, number>;
      capacityLimitedTierCounts: Record<string, number>;
      spillover: boolean;
    }
  | {
      ok: false;
      reason: 'no_registered_compute_nodes' | 'no_matching_compute_node' | 'no_available_capacity';
      eligibleTierCounts: Record<string, number>;
      capacityLimitedCount: number;
      capacityLimitedTierCounts: Record<string, number>;
    };

export interface V1ExpiryReport {
  /** Nodes removed because their lease lapsed with no live in-flight work. */
  evictedNodes: number;
  /** Requests that ended in this sweep (deadline passed, or their node was evicted). */
  ended: V1Ended[];
  /** Answered requests whose response was never fetched in time. */
  expiredResponses: number;
  prunedTombstones: number;
  /** Claimed requests whose in-flight lease lapsed and went back to their node's queue. */
  requeued?: number;
}

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
}

export interface NodeListing {
  /** Live nodes, oldest registration first, at most `limit` of each protocol. */
  legacy: NodeView[];
  v1: NodeView[];
  legacyTotal: number;
  v1Total: number;
}

/** Wake-up keys of the v1 protocol, distinct from the legacy ones (which are bare keys). */
export function v1WorkWakeKey(nodeKey: string): string {
  return `v1\u0000${nodeKey}`;
}

export function v1ResponseWakeKey(clientKey: string, requestId: string): string {
  return `v1\u0000${clientKey}\u0000${requestId}`;
}
