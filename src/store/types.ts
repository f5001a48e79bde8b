// The relay's state, behind an interface named by state transitions rather than get/set.
// Two backends implement it (memory, Redis) and pass one contract suite (test/store/contract.ts,
// API v1 part in test/store/contract-v1.ts).
// Every method is one atomic transition: for Redis across replicas, for memory within the process.
import type { V1Limits } from '../protocols/v1/limits.js';
import type {
  NodeListing,
  V1AcceptOutcome,
  V1AdmitOutcome,
  V1CancelOutcome,
  V1CallOptions,
  V1Capabilities,
  V1Ciphertext,
  V1ClaimOutcome,
  V1ControlOutcome,
  V1ExpiryReport,
  V1LeaseOutcome,
  V1NewRequest,
  V1ProgressOutcome,
  V1RegisterOutcome,
  V1RetrieveOutcome,
  V1SelectQuery,
  V1Selection,
  V1TerminalReason,
  V1TerminalStatus,
  V1UnregisterOutcome,
} from '../protocols/v1/types.js';

export type * from '../protocols/v1/types.js';
export type { V1Limits } from '../protocols/v1/limits.js';

/** An encrypted request waiting for its compute node. The relay never reads these fields. */
export interface QueuedRequest {
  clientKey: string;
  chatHistory: string;
  cipherkey: string;
  iv: string;
  stream: boolean;
}

export interface ClaimedRequest extends QueuedRequest {
  /** Set when `stream` is true: the session the node posts chunks to. */
  streamSessionId?: string;
  /** When the request was accepted (ms epoch): pickup latency = claim time - enqueuedAt. */
  enqueuedAt: number;
}

export interface EncryptedResponse {
  chatHistory: string;
  cipherkey: string;
  iv: string;
}

export interface StoredResponse extends EncryptedResponse {
  storedAt: number;
  /** When the request this answers was accepted, when the relay could link them. */
  requestEnqueuedAt: number | null;
}

export interface StreamBatch {
  sessionId: string;
  /** Chunks as the node posted them (the JSON text of each value), in arrival order. */
  chunks: string[];
  final: boolean;
}

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

/** The source a store call is charged to when the caller names none (tests, in-process callers). */
export const LOCAL_SOURCE = 'local';

export type RegisterOutcome = { ok: true; created: boolean } | { ok: false; reason: 'relay_node_limit' | 'source_node_share_exceeded' | 'source_bytes_share_exceeded' };

export type EnqueueOutcome =
  | { ok: true; queueDepth: number }
  | {
      ok: false;
      reason: 'node_not_found' | 'node_queue_full' | 'client_queue_full' | 'relay_queue_full' | 'source_queue_share_exceeded' | 'source_bytes_share_exceeded';
    };

export type CompleteOutcome =
  | { ok: true; replaced: boolean; requestEnqueuedAt: number | null }
  | { ok: false; reason: 'response_store_full' | 'answer_not_requested' | 'source_response_share_exceeded' | 'source_bytes_share_exceeded' };

export type ChunkOutcome =
  | { ok: true }
  | { ok: false; reason: 'stream_session_not_found' | 'stream_session_full' | 'source_bytes_share_exceeded' };

export interface ExpiryCounts {
  nodes: number;
  requests: number;
  responses: number;
  streams: number;
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
  wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  close(): void;
}

export type WakeChannel = 'work' | 'response';

export interface RelayStore {
  readonly kind: 'memory' | 'redis';
  readonly limits: StoreLimits;

  /** A node announces itself (legacy /sink): create or refresh its liveness. */
  register(nodeKey: string, now: number, source?: string): Promise<RegisterOutcome>;
  /** A random live node, or null: a random source first, then one of its live nodes. */
  pickNode(now: number): Promise<string | null>;
  /** Queue a request for a live node, enforcing every cap. */
  enqueue(nodeKey: string, request: QueuedRequest, now: number, source?: string): Promise<EnqueueOutcome>;
  /** Pop up to `max` unexpired requests for a node; stream requests get a session. */
  claim(nodeKey: string, max: number, now: number): Promise<ClaimedRequest[]>;
  /**
   * Store the response for a client key with a claimed, unanswered request (else
   * answer_not_requested); it answers the oldest such request. A newer one replaces an unretrieved older one.
   */
  complete(clientKey: string, response: EncryptedResponse, now: number, source?: string): Promise<CompleteOutcome>;
  /** Pop the response for a client key, or null. */
  retrieve(clientKey: string, now: number): Promise<StoredResponse | null>;
  /**
   * Append a chunk (its JSON text, bounded at the door) to a stream session; `final` closes it for
   * further drains and answers the stream request's in-flight job.
   */
  appendChunk(sessionId: string, chunk: string, final: boolean, now: number, source?: string): Promise<ChunkOutcome>;
  /** Hand the chunks stored since the last call; a batch with `final` deletes the session. */
  drainStream(clientKey: string, now: number): Promise<StreamBatch | null>;
  /** Remove everything past its time-to-live; counts what went. */
  expire(now: number): Promise<ExpiryCounts>;
  stats(now: number): Promise<StoreStats>;
  /** Register for a wake-up on a node's work queue or a client's response slot. */
  watch(channel: WakeChannel, key: string): Waiter;

  /** The API v1 transitions (below). */
  readonly v1: V1Transitions;
  /** Live nodes of both protocols for diagnostics (public keys and counters only). */
  listNodes(now: number, limit: number): Promise<NodeListing>;

  /** Canonical dump of all state, for tests that prove a rejected request changed nothing. */
  snapshot(): Promise<unknown>;
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- API v1 (protocol.md §E.3)
/** The API v1 transitions, reached as `store.v1`; every call is one atomic transition. */
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
   * again) until options.ack (then dropped, tombstone 'completed') or v1ResponseTtlMs. Active:
   * pending with the deadline and the latest progress record, which is popped; past its deadline
   * it ends (terminal expired). Tombstoned cancelled/expired: terminal. Otherwise (never seen, or
   * acknowledged) unknown. Without a request id: pops the oldest held response of that client.
   */
  retrieveResponse(clientKey: string, requestId: string | null, now: number, options?: V1CallOptions): Promise<V1RetrieveOutcome>;
  /**
   * A client cancels with the digest of the cancel token it gave at admission. Active or held:
   * ends it with (status, reason) - a held answer is discarded; an in-flight one leaves a
   * node-visible tombstone. Already cancelled/expired with the same digest: the same status
   * again (idempotent). No or wrong digest: forbidden.
   */
  cancelRequest(clientKey: string, requestId: string, cancelTokenDigest: string, status: V1TerminalStatus, reason: V1TerminalReason, now: number): Promise<V1CancelOutcome>;
  /**
   * Replaces the one encrypted progress record of a request in flight on that node (owner digest
   * required, else forbidden; not in flight there for that client, or past its deadline ->
   * not_active). Never renews a lease or the deadline.
   */
  recordProgress(nodeKey: string, credentialDigest: string, clientKey: string, requestId: string, progress: V1Ciphertext, now: number, options?: V1CallOptions): Promise<V1ProgressOutcome>;
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
}
