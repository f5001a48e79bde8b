// The relay's state, behind an interface named by state transitions rather than get/set.
// Two backends implement it (memory, Redis) and pass one contract suite (test/store/contract.ts).
// Every method is one atomic transition: for Redis across replicas, for memory within the process.

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
  /** Chunks as the node posted them (opaque JSON values), in arrival order. */
  chunks: unknown[];
  final: boolean;
}

/** Caps and time-to-lives the store enforces inside its transitions. */
export interface StoreLimits {
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
  /** Ciphertext bytes held in queued requests and responses together. */
  maxStoredBytes: number;
}

export type RegisterOutcome = { ok: true; created: boolean } | { ok: false; reason: 'relay_node_limit' };

export type EnqueueOutcome =
  | { ok: true; queueDepth: number }
  | { ok: false; reason: 'node_not_found' | 'node_queue_full' | 'client_queue_full' | 'relay_queue_full' };

export type CompleteOutcome =
  | { ok: true; replaced: boolean; requestEnqueuedAt: number | null }
  | { ok: false; reason: 'response_store_full' };

export type ChunkOutcome = { ok: true } | { ok: false; reason: 'stream_session_not_found' | 'stream_session_full' };

export interface ExpiryCounts {
  nodes: number;
  requests: number;
  responses: number;
  streams: number;
}

export interface StoreStats {
  nodes: number;
  queuedRequests: number;
  /** Age of the oldest queued request in ms (0 when none). */
  oldestQueuedAgeMs: number;
  inflightRequests: number;
  responses: number;
  streamSessions: number;
  storedBytes: number;
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
  register(nodeKey: string, now: number): Promise<RegisterOutcome>;
  /** A uniformly random live node, or null. */
  pickNode(now: number): Promise<string | null>;
  /** Queue a request for a live node, enforcing every cap. */
  enqueue(nodeKey: string, request: QueuedRequest, now: number): Promise<EnqueueOutcome>;
  /** Pop up to `max` unexpired requests for a node; stream requests get a session. */
  claim(nodeKey: string, max: number, now: number): Promise<ClaimedRequest[]>;
  /** Store the response for a client key (a newer one replaces an unretrieved older one). */
  complete(clientKey: string, response: EncryptedResponse, now: number): Promise<CompleteOutcome>;
  /** Pop the response for a client key, or null. */
  retrieve(clientKey: string, now: number): Promise<StoredResponse | null>;
  /** Append a chunk to a stream session; `final` closes it for further drains. */
  appendChunk(sessionId: string, chunk: unknown, final: boolean, now: number): Promise<ChunkOutcome>;
  /** Hand the chunks stored since the last call; a batch with `final` deletes the session. */
  drainStream(clientKey: string, now: number): Promise<StreamBatch | null>;
  /** Remove everything past its time-to-live; counts what went. */
  expire(now: number): Promise<ExpiryCounts>;
  stats(now: number): Promise<StoreStats>;
  /** Register for a wake-up on a node's work queue or a client's response slot. */
  watch(channel: WakeChannel, key: string): Waiter;
  /** Canonical dump of all state, for tests that prove a rejected request changed nothing. */
  snapshot(): Promise<unknown>;
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
