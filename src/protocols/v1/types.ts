// Data shapes of the API v1 relay protocol as the store holds them (protocol.md §E.3). The
// transitions that use them are declared, with their contracts, in V1Transitions below.
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
  /**
   * The operator's name for the node (register or poll `node_label`), already checked: printable,
   * trimmed, at most MAX_NODE_LABEL_CHARS. It rides in the capabilities because both backends
   * store those verbatim and hand them back in listings.
   */
  label?: string;
  /** End-to-end extensions the node offers its clients (README "Signed answers and streaming"); the relay only lists them. */
  answerSigning?: string;
  streaming?: string;
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

export type V1ProgressOutcome =
  { ok: true; replaced: boolean } | { ok: false; reason: 'forbidden' | 'not_active' | 'response_store_full' | 'source_bytes_share_exceeded' };

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
  /**
   * Which nodes were evicted, where the backend can say so cheaply (memory); a backend that
   * reports counts only leaves it out.
   */
  evicted?: V1NodeInfo[];
}

/** What the lifecycle log says about a node: never more than its key, label and address. */
export interface V1NodeInfo {
  key: string;
  label: string | null;
  /** The address that registered it (addressLimitKey). */
  source: string;
  /** When it last renewed its lease, polled or answered (ms epoch). */
  lastSeen: number;
}

/** Wake-up keys of the v1 protocol, distinct from the legacy ones (which are bare keys). */
export function v1WorkWakeKey(nodeKey: string): string {
  return `v1\u0000${nodeKey}`;
}

export function v1ResponseWakeKey(clientKey: string, requestId: string): string {
  return `v1\u0000${clientKey}\u0000${requestId}`;
}

/**
 * The API v1 transitions, reached as `store.v1`; every call is one atomic transition. Both backends
 * implement them (src/protocols/v1/memory.ts, redis.ts) and pass test/store/contract-v1.ts.
 */
export interface V1Transitions {
  // Requests are identified by (client key, request id). A request is *active* while queued or
  // in flight, then *held* once answered until its client fetches it; when it ends otherwise
  // (cancelled, expired, its node gone) or is fetched, a tombstone remembers the outcome for
  // v1TerminalTtlMs, so late callers get 410, ids are not reused, and the node that held it in
  // flight learns the outcome on its next control poll (for v1ControlTombstoneTtlMs).
  // Transitions that can end requests return `ended`: each request appears there exactly once,
  // in the transition that ended it (for outcome metrics). Every change a waiting party cares
  // about notifies a wake-up: admission on ('work', v1WorkWakeKey(node)); answer, progress,
  // cancellation and expiry on ('response', v1ResponseWakeKey(client, id)); unregistration and
  // eviction on ('work', v1WorkWakeKey(node)).

  /**
   * Registers a node or renews its lease (now + v1LeaseMs) and replaces its capabilities.
   * `credentialDigest` (SHA-256 hex of a fresh control credential) is stored only when the node
   * is new: `credentialIssued` says whether the caller may hand that credential out. An existing
   * registration's credential is never disclosed; it is replaced only for a node that is neither
   * bound nor has polled yet (its first reply may have been lost: re-registering re-issues).
   * Ownership (sticky, opt-in): a credential presented (options.credentialDigest) must match and
   * binds the node; a bound node is refused without it (node_credential_required). New nodes
   * beyond maxNodes, or beyond the source's share (v1MaxNodesPerSource), are refused.
   */
  registerNode(nodeKey: string, capabilities: V1Capabilities, credentialDigest: string, now: number, options?: V1CallOptions): Promise<V1RegisterOutcome>;
  /**
   * A poll: renews the lease to at least now + v1LeaseMs + holdMs (the poll may be held that
   * long) and replaces the capabilities when given. Unknown node -> node_not_found. Ownership as
   * registerNode (a presented credential binds; a bound node needs it).
   */
  renewLease(nodeKey: string, capabilities: V1Capabilities | null, now: number, holdMs: number, options?: V1CallOptions): Promise<V1LeaseOutcome>;
  /**
   * Picks the best-fit healthy node for a model and tier (src/protocols/v1/selection.ts) and advances
   * the round-robin cursor. Advisory: admitRequest re-checks everything.
   */
  selectNode(query: V1SelectQuery, now: number): Promise<V1Selection>;
  /**
   * Queues a request for a healthy node with an absolute deadline of now + v1DeadlineMs.
   * Idempotent: an id known for this client (active, held or tombstoned) with the same
   * admissionDigest answers the first admission (duplicate: true); with other bytes it is a
   * request_id_conflict, as is an id active on that node for another client. Refused when the
   * node is unknown or unhealthy, the node's queue holds v1MaxQueuePerNode (or the source its
   * share of it), the client has maxQueuePerClient active requests, or v1MaxRequests /
   * maxStoredBytes (or the source's share of either) would be exceeded.
   */
  admitRequest(request: V1NewRequest, now: number): Promise<V1AdmitOutcome>;
  /**
   * Hands the node its oldest queued request: it becomes in flight with an accounting lease of
   * min(now + v1InflightLeaseMs, deadline) and the node's lease is renewed. Its ciphertext stays
   * (counted) until the answer, so a claim whose lease lapses goes back to the queue (expire).
   * Queue heads past their deadline end first (expired/provider_timeout).
   * `request: null` when nothing is queued. Unknown node -> node_not_found; ownership as renewLease.
   */
  claimRequest(nodeKey: string, now: number, options?: V1CallOptions): Promise<V1ClaimOutcome>;
  /**
   * The owner's control poll for one request. A registered node must present its credential
   * digest (else forbidden). In flight on that node: renews the accounting lease (never the
   * deadline) -> active, or, past the deadline, ends it -> expired. A node-visible tombstone whose
   * owner digest matches -> its status (acknowledge hides it from further polls). Otherwise
   * unavailable; an unregistered node without a matching tombstone -> forbidden.
   */
  renewInflight(nodeKey: string, requestId: string, credentialDigest: string | null, acknowledge: boolean, now: number): Promise<V1ControlOutcome>;
  /**
   * A node's answer. Active request: only if it was claimed at least once (else
   * request_not_claimed), options.nodeKey (when given) is its node, and, for a bound node, the
   * credential matches (a matching one binds): then held for the client (v1ResponseTtlMs),
   * progress dropped, the node's lease renewed, ended as completed; past its deadline it ends as
   * expired instead (request_gone). Already held: duplicate (a retry after a lost reply).
   * Tombstoned: request_gone with its status (cancelled, expired, completed); unknown: 'gone'.
   */
  acceptResponse(clientKey: string, requestId: string, response: V1Ciphertext, now: number, options?: V1CallOptions): Promise<V1AcceptOutcome>;
  /**
   * A client's fetch. Held: handed out and kept (repeatable, so a lost reply can be fetched
   * again) until options.ack (then tombstone 'completed') or v1ResponseTtlMs. Active: pending
   * with the deadline and the latest progress record, which is popped; past its deadline it ends
   * (terminal expired). Tombstoned cancelled/expired: terminal. Completed: the answer once more
   * within v1AckReplayMs of its last hand-out (that reply may have been lost), then unknown.
   * Never seen: unknown. Without a request id: pops the oldest held response of that client
   * (replays are never handed out without their id).
   */
  retrieveResponse(clientKey: string, requestId: string | null, now: number, options?: V1CallOptions): Promise<V1RetrieveOutcome>;
  /**
   * A client cancels with the digest of the cancel token it gave at admission. Active or held:
   * ends it with (status, reason) - a held answer is discarded; an in-flight one leaves a
   * node-visible tombstone. Already cancelled/expired with the same digest: the same status
   * again (idempotent). No or wrong digest: forbidden.
   */
  cancelRequest(
    clientKey: string,
    requestId: string,
    cancelTokenDigest: string,
    status: V1TerminalStatus,
    reason: V1TerminalReason,
    now: number,
  ): Promise<V1CancelOutcome>;
  /**
   * Replaces the one encrypted progress record of a request in flight on that node (owner digest
   * required, else forbidden; not in flight there for that client, or past its deadline ->
   * not_active). Never renews a lease or the deadline.
   */
  recordProgress(
    nodeKey: string,
    credentialDigest: string,
    clientKey: string,
    requestId: string,
    progress: V1Ciphertext,
    now: number,
    options?: V1CallOptions,
  ): Promise<V1ProgressOutcome>;
  /**
   * Removes a node with its owner's credential digest (unknown node: removed false; wrong
   * digest: forbidden). Its queued and in-flight requests end as cancelled/server_unregistered.
   */
  unregisterNode(nodeKey: string, credentialDigest: string | null, now: number): Promise<V1UnregisterOutcome>;
  /**
   * Sweeps API v1 state: requests past their deadline end (expired/provider_timeout), unfetched
   * answers past v1ResponseTtlMs go, claims whose in-flight lease lapsed go back to the head of
   * their node's queue (after V1_MAX_RECLAIMS lapses they end expired/claimer_lost), nodes with a lapsed lease and no running in-flight lease are
   * evicted (their work cancelled/server_unregistered), old tombstones are pruned.
   */
  expire(now: number): Promise<V1ExpiryReport>;
  /**
   * Optional, for the lifecycle log only (not part of any transition): the node's label, source
   * and last sign of life, or null when unknown. A backend that cannot answer cheaply leaves it
   * out (the log then says less: no "renewed after a gap", no label on unregistration).
   */
  nodeInfo?(nodeKey: string): Promise<V1NodeInfo | null>;
}
