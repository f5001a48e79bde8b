// In-process backend: the default, for one replica. Every transition runs synchronously inside
// one call, so it is atomic with respect to every other request in this process.
import { randomBytes, randomInt } from 'node:crypto';
import { Fifo } from './fifo.js';
import { SourceLedger } from './source-ledger.js';
import { V1Memory } from './v1-memory.js';
import { WaiterHub } from './waiter-hub.js';
import type {
  NodeListing,
  NodeView,
  ChunkOutcome,
  ClaimedRequest,
  CompleteOutcome,
  EncryptedResponse,
  EnqueueOutcome,
  ExpiryCounts,
  QueuedRequest,
  RegisterOutcome,
  RelayStore,
  StoreHealth,
  StoreLimits,
  StoreStats,
  StreamBatch,
  StoredResponse,
  WakeChannel,
  Waiter,
  V1Transitions,
} from './types.js';

interface NodeEntry {
  lastSeen: number;
  /** Claimed requests not yet answered: the node is busy, not dead (protocol.md §C.1). */
  inflight: Set<InflightEntry>;
}

interface QueuedEntry extends QueuedRequest {
  enqueuedAt: number;
  expiresAt: number;
  bytes: number;
  /** Cleared when the entry is dropped from the queue by the global cap bookkeeping. */
  live: boolean;
}

interface InflightEntry {
  nodeKey: string;
  enqueuedAt: number;
  expiresAt: number;
}

interface ResponseEntry extends StoredResponse {
  expiresAt: number;
  bytes: number;
}

interface StreamEntry {
  sessionId: string;
  clientKey: string;
  chunks: unknown[];
  /** Chunks before this index were already handed to the client. */
  delivered: number;
  final: boolean;
  expiresAt: number;
}

export function requestBytes(request: QueuedRequest): number {
  return request.clientKey.length + request.chatHistory.length + request.cipherkey.length + request.iv.length;
}

export function responseBytes(clientKey: string, response: EncryptedResponse): number {
  return clientKey.length + response.chatHistory.length + response.cipherkey.length + response.iv.length;
}

export class MemoryStore implements RelayStore {
  readonly kind = 'memory' as const;
  readonly #hub = new WaiterHub();
  // Maps keep insertion order; entries are re-inserted on refresh so the oldest come first.
  readonly #nodes = new Map<string, NodeEntry>();
  readonly #queues = new Map<string, Fifo<QueuedEntry>>();
  readonly #queuedPerClient = new Map<string, number>();
  readonly #inflight = new Map<string, InflightEntry[]>();
  readonly #responses = new Map<string, ResponseEntry>();
  readonly #streams = new Map<string, StreamEntry>();
  readonly #streamByClient = new Map<string, string>();
  #queued = 0;
  #storedBytes = 0;
  /** API v1 state (src/store/v1-memory.ts); the byte cap is shared with it. */
  readonly #v1: V1Memory;
  /** The API v1 transitions (contracts in types.ts). */
  readonly v1: V1Transitions;

  /** The byte cap both protocols share, with each source's share (src/store/source-ledger.ts). */
  readonly #bytes: SourceLedger;

  constructor(readonly limits: StoreLimits) {
    this.#bytes = new SourceLedger(limits.maxStoredBytes, limits.maxStoredBytesPerSource ?? limits.maxStoredBytes);
    this.v1 = this.#v1 = new V1Memory(limits, this.#hub, this.#bytes);
  }

  #alive(node: NodeEntry, now: number): boolean {
    if (node.lastSeen + this.limits.nodeTtlMs > now) return true;
    for (const job of node.inflight) if (job.expiresAt > now) return true;
    return false;
  }

  async register(nodeKey: string, now: number): Promise<RegisterOutcome> {
    const existing = this.#nodes.get(nodeKey);
    if (existing === undefined && this.#nodes.size >= this.limits.maxNodes) {
      this.#expireNodes(now);
      if (this.#nodes.size >= this.limits.maxNodes) return { ok: false, reason: 'relay_node_limit' };
    }
    const entry = existing ?? { lastSeen: now, inflight: new Set<InflightEntry>() };
    entry.lastSeen = now;
    this.#nodes.delete(nodeKey);
    this.#nodes.set(nodeKey, entry);
    return { ok: true, created: existing === undefined };
  }

  async pickNode(now: number): Promise<string | null> {
    const live: string[] = [];
    for (const [key, node] of this.#nodes) if (this.#alive(node, now)) live.push(key);
    if (live.length === 0) return null;
    return live[randomInt(live.length)] ?? null;
  }

  async enqueue(nodeKey: string, request: QueuedRequest, now: number): Promise<EnqueueOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node === undefined || !this.#alive(node, now)) return { ok: false, reason: 'node_not_found' };
    const queue = this.#queues.get(nodeKey);
    this.#dropExpiredHead(queue, now);
    if ((queue?.length ?? 0) >= this.limits.maxQueuePerNode) return { ok: false, reason: 'node_queue_full' };
    if ((this.#queuedPerClient.get(request.clientKey) ?? 0) >= this.limits.maxQueuePerClient) {
      return { ok: false, reason: 'client_queue_full' };
    }
    const bytes = requestBytes(request);
    if (this.#queued >= this.limits.maxQueuedTotal || this.#storedBytes + this.#v1.bytes + bytes > this.limits.maxStoredBytes) {
      return { ok: false, reason: 'relay_queue_full' };
    }
    const entry: QueuedEntry = { ...request, enqueuedAt: now, expiresAt: now + this.limits.requestTtlMs, bytes, live: true };
    const target = queue ?? new Fifo<QueuedEntry>();
    target.push(entry);
    this.#queues.set(nodeKey, target);
    this.#queued += 1;
    this.#storedBytes += bytes;
    this.#queuedPerClient.set(request.clientKey, (this.#queuedPerClient.get(request.clientKey) ?? 0) + 1);
    this.#hub.notify('work', nodeKey);
    return { ok: true, queueDepth: target.length };
  }

  #unqueue(entry: QueuedEntry): void {
    entry.live = false;
    this.#queued -= 1;
    this.#storedBytes -= entry.bytes;
    const left = (this.#queuedPerClient.get(entry.clientKey) ?? 1) - 1;
    if (left <= 0) this.#queuedPerClient.delete(entry.clientKey);
    else this.#queuedPerClient.set(entry.clientKey, left);
  }

  /** Drops expired entries at the head of one queue; returns how many went. */
  #dropExpiredHead(queue: Fifo<QueuedEntry> | undefined, now: number): number {
    let dropped = 0;
    while (queue !== undefined && queue.length > 0 && queue.peek()!.expiresAt <= now) {
      this.#unqueue(queue.shift()!);
      dropped += 1;
    }
    return dropped;
  }

  async claim(nodeKey: string, max: number, now: number): Promise<ClaimedRequest[]> {
    const queue = this.#queues.get(nodeKey);
    this.#dropExpiredHead(queue, now);
    const node = this.#nodes.get(nodeKey);
    const claimed: ClaimedRequest[] = [];
    while (queue !== undefined && queue.length > 0 && claimed.length < max) {
      const entry = queue.shift()!;
      this.#unqueue(entry);
      const item: ClaimedRequest = {
        clientKey: entry.clientKey,
        chatHistory: entry.chatHistory,
        cipherkey: entry.cipherkey,
        iv: entry.iv,
        stream: entry.stream,
        enqueuedAt: entry.enqueuedAt,
      };
      if (entry.stream) item.streamSessionId = this.#openStream(entry.clientKey, now);
      const job: InflightEntry = { nodeKey, enqueuedAt: entry.enqueuedAt, expiresAt: now + this.limits.requestTtlMs };
      const jobs = this.#inflight.get(entry.clientKey) ?? [];
      jobs.push(job);
      this.#inflight.set(entry.clientKey, jobs);
      node?.inflight.add(job);
      claimed.push(item);
    }
    if (queue !== undefined && queue.length === 0) this.#queues.delete(nodeKey);
    return claimed;
  }

  #openStream(clientKey: string, now: number): string {
    const previous = this.#streamByClient.get(clientKey);
    if (previous !== undefined) this.#streams.delete(previous);
    if (this.#streams.size >= this.limits.maxStreamSessions) {
      // Bounded: the least recently touched session makes room.
      const oldest = this.#streams.values().next().value as StreamEntry | undefined;
      if (oldest !== undefined) this.#closeStream(oldest);
    }
    const sessionId = randomBytes(16).toString('hex');
    this.#streams.set(sessionId, { sessionId, clientKey, chunks: [], delivered: 0, final: false, expiresAt: now + this.limits.streamTtlMs });
    this.#streamByClient.set(clientKey, sessionId);
    return sessionId;
  }

  #closeStream(entry: StreamEntry): void {
    this.#streams.delete(entry.sessionId);
    if (this.#streamByClient.get(entry.clientKey) === entry.sessionId) this.#streamByClient.delete(entry.clientKey);
  }

  #finishInflight(clientKey: string, now: number): number | null {
    const jobs = this.#inflight.get(clientKey);
    const job = jobs?.shift();
    if (jobs !== undefined && jobs.length === 0) this.#inflight.delete(clientKey);
    if (job === undefined) return null;
    const node = this.#nodes.get(job.nodeKey);
    if (node !== undefined) {
      node.inflight.delete(job);
      // Answering is a sign of life (protocol.md §C.1: silence counts from /sink or /source).
      node.lastSeen = Math.max(node.lastSeen, now);
    }
    return job.enqueuedAt;
  }

  async complete(clientKey: string, response: EncryptedResponse, now: number): Promise<CompleteOutcome> {
    const bytes = responseBytes(clientKey, response);
    const previous = this.#responses.get(clientKey);
    const freed = previous?.bytes ?? 0;
    if (previous === undefined && this.#responses.size >= this.limits.maxResponses) return { ok: false, reason: 'response_store_full' };
    if (this.#storedBytes + this.#v1.bytes - freed + bytes > this.limits.maxStoredBytes) return { ok: false, reason: 'response_store_full' };
    const requestEnqueuedAt = this.#finishInflight(clientKey, now);
    if (previous !== undefined) {
      this.#responses.delete(clientKey);
      this.#storedBytes -= previous.bytes;
    }
    this.#responses.set(clientKey, {
      chatHistory: response.chatHistory,
      cipherkey: response.cipherkey,
      iv: response.iv,
      storedAt: now,
      requestEnqueuedAt,
      expiresAt: now + this.limits.responseTtlMs,
      bytes,
    });
    this.#storedBytes += bytes;
    this.#hub.notify('response', clientKey);
    return { ok: true, replaced: previous !== undefined, requestEnqueuedAt };
  }

  async retrieve(clientKey: string, now: number): Promise<StoredResponse | null> {
    const entry = this.#responses.get(clientKey);
    if (entry === undefined) return null;
    this.#responses.delete(clientKey);
    this.#storedBytes -= entry.bytes;
    if (entry.expiresAt <= now) return null;
    return { chatHistory: entry.chatHistory, cipherkey: entry.cipherkey, iv: entry.iv, storedAt: entry.storedAt, requestEnqueuedAt: entry.requestEnqueuedAt };
  }

  async appendChunk(sessionId: string, chunk: unknown, final: boolean, now: number): Promise<ChunkOutcome> {
    const entry = this.#streams.get(sessionId);
    if (entry === undefined || entry.expiresAt <= now) return { ok: false, reason: 'stream_session_not_found' };
    if (entry.chunks.length >= this.limits.maxStreamChunks) return { ok: false, reason: 'stream_session_full' };
    entry.chunks.push(chunk);
    if (final) entry.final = true;
    entry.expiresAt = now + this.limits.streamTtlMs;
    this.#streams.delete(sessionId);
    this.#streams.set(sessionId, entry);
    this.#hub.notify('response', entry.clientKey);
    return { ok: true };
  }

  async drainStream(clientKey: string, now: number): Promise<StreamBatch | null> {
    const sessionId = this.#streamByClient.get(clientKey);
    const entry = sessionId === undefined ? undefined : this.#streams.get(sessionId);
    if (entry === undefined || entry.expiresAt <= now) return null;
    const chunks = entry.chunks.slice(entry.delivered);
    entry.delivered = entry.chunks.length;
    if (entry.final) this.#closeStream(entry);
    return { sessionId: entry.sessionId, chunks, final: entry.final };
  }

  #expireNodes(now: number): number {
    let removed = 0;
    for (const [key, node] of this.#nodes) {
      for (const job of node.inflight) if (job.expiresAt <= now) node.inflight.delete(job);
      if (!this.#alive(node, now)) {
        this.#nodes.delete(key);
        removed += 1;
      }
    }
    return removed;
  }

  async expire(now: number): Promise<ExpiryCounts> {
    const counts: ExpiryCounts = { nodes: this.#expireNodes(now), requests: 0, responses: 0, streams: 0 };
    for (const [key, queue] of this.#queues) {
      counts.requests += this.#dropExpiredHead(queue, now);
      if (queue.length === 0) this.#queues.delete(key);
    }
    for (const [clientKey, jobs] of this.#inflight) {
      const kept = jobs.filter((job) => job.expiresAt > now);
      if (kept.length === 0) this.#inflight.delete(clientKey);
      else if (kept.length !== jobs.length) this.#inflight.set(clientKey, kept);
    }
    for (const [key, entry] of this.#responses) {
      if (entry.expiresAt > now) break; // insertion order = expiry order
      this.#responses.delete(key);
      this.#storedBytes -= entry.bytes;
      counts.responses += 1;
    }
    for (const entry of [...this.#streams.values()]) {
      if (entry.expiresAt > now) break;
      this.#closeStream(entry);
      counts.streams += 1;
    }
    return counts;
  }

  async stats(now: number): Promise<StoreStats> {
    let nodes = 0;
    for (const node of this.#nodes.values()) if (this.#alive(node, now)) nodes += 1;
    let oldest = now;
    for (const queue of this.#queues.values()) {
      const head = queue.peek();
      if (head !== undefined && head.enqueuedAt < oldest) oldest = head.enqueuedAt;
    }
    let inflight = 0;
    for (const jobs of this.#inflight.values()) inflight += jobs.length;
    const v1 = this.#v1.stats(now);
    return {
      nodes: nodes + v1.healthy,
      queuedRequests: this.#queued,
      oldestQueuedAgeMs: now - oldest,
      inflightRequests: inflight,
      responses: this.#responses.size,
      streamSessions: this.#streams.size,
      storedBytes: this.#storedBytes + this.#v1.bytes,
      v1Nodes: v1.nodes,
      v1HealthyNodes: v1.healthy,
      v1Queued: v1.queued,
      v1Inflight: v1.inflight,
      v1Responses: v1.held,
      v1Tombstones: v1.tombstones,
      v1OldestQueuedAgeMs: v1.oldestQueuedAgeMs,
    };
  }

  async listNodes(now: number, limit: number): Promise<NodeListing> {
    const legacy: NodeView[] = [];
    let legacyTotal = 0;
    for (const [key, node] of this.#nodes) {
      if (!this.#alive(node, now)) continue;
      legacyTotal += 1;
      if (legacy.length < limit) {
        legacy.push({ protocol: 'legacy', key, ageMs: Math.max(0, now - node.lastSeen), queueDepth: this.#queues.get(key)?.length ?? 0, inflight: node.inflight.size });
      }
    }
    const v1 = this.#v1.listNodes(now, limit);
    return { legacy, v1: v1.views, legacyTotal, v1Total: v1.total };
  }

  watch(channel: WakeChannel, key: string): Waiter {
    return this.#hub.watch(channel, key);
  }

  async snapshot(): Promise<unknown> {
    const sorted = <V>(map: Map<string, V>, f: (v: V) => unknown) =>
      [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, f(v)]);
    return {
      nodes: sorted(this.#nodes, (n) => ({ lastSeen: n.lastSeen, inflight: n.inflight.size })),
      queues: sorted(this.#queues, (q) => [...q].map(({ live: _live, ...rest }) => rest)),
      inflight: sorted(this.#inflight, (jobs) => jobs),
      responses: sorted(this.#responses, (r) => r),
      streams: [...this.#streams.values()].map((s) => ({ ...s, chunks: [...s.chunks] })).sort((a, b) => (a.sessionId < b.sessionId ? -1 : 1)),
      queued: this.#queued,
      storedBytes: this.#storedBytes,
      v1: this.#v1.snapshot(),
    };
  }

  async health(): Promise<StoreHealth> {
    return { ok: true };
  }

  async close(): Promise<void> {}
}
