// The legacy protocol's state (protocol.md §C) as the store holds it, and its transitions.
// Both backends implement LegacyTransitions (src/protocols/legacy/memory.ts, redis.ts) and pass one
// contract suite (test/store/contract.ts). Every method is one atomic transition: for Redis across
// replicas, for memory within the process. The relay never reads the ciphertext fields.

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

export type RegisterOutcome =
  { ok: true; created: boolean } | { ok: false; reason: 'relay_node_limit' | 'source_node_share_exceeded' | 'source_bytes_share_exceeded' };

export type EnqueueOutcome =
  | { ok: true; queueDepth: number }
  | {
      ok: false;
      reason: 'node_not_found' | 'node_queue_full' | 'client_queue_full' | 'relay_queue_full' | 'source_queue_share_exceeded' | 'source_bytes_share_exceeded';
    };

export type CompleteOutcome =
  | { ok: true; replaced: boolean; requestEnqueuedAt: number | null }
  | { ok: false; reason: 'response_store_full' | 'answer_not_requested' | 'source_response_share_exceeded' | 'source_bytes_share_exceeded' };

export type ChunkOutcome = { ok: true } | { ok: false; reason: 'stream_session_not_found' | 'stream_session_full' | 'source_bytes_share_exceeded' };

export interface ExpiryCounts {
  nodes: number;
  requests: number;
  responses: number;
  streams: number;
  /** Which nodes expired, where the backend can say so cheaply (memory); else left out. */
  expiredNodes?: LegacyNodeInfo[];
}

/** What the lifecycle log says about a legacy node: its key and the address that registered it. */
export interface LegacyNodeInfo {
  key: string;
  source: string;
  /** Its last /sink (ms epoch). */
  lastSeen: number;
}

/** Bytes a queued request holds (keys and ciphertext), charged to the byte budget. */
export function requestBytes(request: QueuedRequest): number {
  return request.clientKey.length + request.chatHistory.length + request.cipherkey.length + request.iv.length;
}

/** Bytes a stored answer holds. */
export function responseBytes(clientKey: string, response: EncryptedResponse): number {
  return clientKey.length + response.chatHistory.length + response.cipherkey.length + response.iv.length;
}

/** The legacy transitions, reached as `store.legacy`. */
export interface LegacyTransitions {
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
  /**
   * Optional, for the lifecycle log only: the node's source and last /sink, or null. A backend
   * that cannot answer cheaply leaves it out.
   */
  nodeInfo?(nodeKey: string): Promise<LegacyNodeInfo | null>;
}
