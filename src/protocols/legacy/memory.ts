// The legacy protocol's state in this process's memory (the default backend, for one replica).
// Every transition runs synchronously inside one call, so it is atomic with respect to every
// other request in this process. The byte budget is shared with the API v1 half
// (src/store/memory.ts composes the two); this half counts what it holds itself.
import { randomBytes, randomInt } from 'node:crypto';
import { Fifo } from '../../core/fifo.js';
import { QueuedRecord as QueuedEntry, ResponseRecord as ResponseEntry } from './memory-records.js';
import { SourceLedger, type ShareCheck } from '../../core/source-ledger.js';
import type { WaiterHub } from '../../core/wake-hub.js';
import { LOCAL_SOURCE, type NodeView, type ShareUse, type StoreLimits } from '../../store/types.js';
import { JOB_RECORD_BYTES, NODE_RECORD_BYTES, SESSION_RECORD_BYTES, legacyShares, type LegacyShares } from './limits.js';
import {
  requestBytes,
  responseBytes,
  type ChunkOutcome,
  type ClaimedRequest,
  type CompleteOutcome,
  type EncryptedResponse,
  type EnqueueOutcome,
  type ExpiryCounts,
  type LegacyNodeInfo,
  type LegacyTransitions,
  type QueuedRequest,
  type RegisterOutcome,
  type StoredResponse,
  type StreamBatch,
} from './types.js';

interface NodeEntry {
  lastSeen: number;
  /** When this registration began (diagnostics). */
  registeredAt: number;
  /** The address that registered the key: its node share and bytes. */
  source: string;
  bytes: number;
  /** Claimed requests not yet answered: the node is busy, not dead (protocol.md §C.1). */
  inflight: Set<InflightEntry>;
}

interface InflightEntry {
  nodeKey: string;
  enqueuedAt: number;
  expiresAt: number;
  /** The request's source, charged for the record's bytes until it is answered or expires. */
  source: string;
  bytes: number;
}

interface StreamEntry {
  sessionId: string;
  clientKey: string;
  /** Each chunk's JSON text (bounded at the door, so it always parses back). */
  chunks: string[];
  /** The requesting client's address: its stream share and the record's bytes. */
  source: string;
  /** Who posted each undelivered chunk (its bytes are charged there). */
  chunkSources: string[];
  /** Bytes charged per source: the record to `source`, each chunk to whoever appended it. */
  charges: Map<string, number>;
  /** Set once a final chunk has answered the stream request's in-flight job. */
  answered: boolean;
  /** Chunks before this index were already handed to the client. */
  delivered: number;
  final: boolean;
  expiresAt: number;
}

/** Whether a refusal is the source's share (a share equal to the cap is no share: the cap refuses). */
function byShare(ledger: SourceLedger, check: ShareCheck): boolean {
  return check.over === 'share' && ledger.share < ledger.cap;
}

export class LegacyMemory implements LegacyTransitions {
  // Maps keep insertion order; entries are re-inserted on refresh so the oldest come first.
  readonly #nodes = new Map<string, NodeEntry>();
  readonly #queues = new Map<string, Fifo<QueuedEntry>>();
  readonly #queuedPerClient = new Map<string, number>();
  readonly #inflight = new Map<string, InflightEntry[]>();
  readonly #responses = new Map<string, ResponseEntry>();
  readonly #streams = new Map<string, StreamEntry>();
  readonly #streamByClient = new Map<string, string>();
  #queued = 0;
  /** Bytes this half holds (its part of the shared byte budget). */
  #storedBytes = 0;
  // Legacy shares of the caps anyone can fill (counts per source; the caps stay the last line).
  readonly #shares: LegacyShares;
  readonly #nodeLedger: SourceLedger;
  readonly #queueLedger: SourceLedger;
  readonly #responseLedger: SourceLedger;
  readonly #streamLedger: SourceLedger;
  /** Per node: queued requests per source (the per-node share). */
  readonly #queueBySource = new Map<string, Map<string, number>>();

  readonly #hub: WaiterHub;
  /** Stored bytes of both protocols per source: one cap, one share per source. */
  readonly #bytes: SourceLedger;

  constructor(
    readonly limits: StoreLimits,
    hub: WaiterHub,
    bytes: SourceLedger,
  ) {
    this.#hub = hub;
    this.#bytes = bytes;
    this.#shares = legacyShares(limits);
    this.#nodeLedger = new SourceLedger(limits.maxNodes, this.#shares.nodes);
    this.#queueLedger = new SourceLedger(limits.maxQueuedTotal, this.#shares.queued);
    this.#responseLedger = new SourceLedger(limits.maxResponses, this.#shares.responses);
    this.#streamLedger = new SourceLedger(limits.maxStreamSessions, this.#shares.streams);
  }

  /** Bytes the legacy half holds. */
  get bytes(): number {
    return this.#storedBytes;
  }

  /** Moves `delta` bytes on the shared budget, charged to `source`, and on this half's count. */
  #charge(source: string, delta: number): void {
    this.#bytes.add(source, delta);
    this.#storedBytes += delta;
  }

  #alive(node: NodeEntry, now: number): boolean {
    if (node.lastSeen + this.limits.nodeTtlMs > now) return true;
    for (const job of node.inflight) if (job.expiresAt > now) return true;
    return false;
  }

  async register(nodeKey: string, now: number, source: string = LOCAL_SOURCE): Promise<RegisterOutcome> {
    const existing = this.#nodes.get(nodeKey);
    if (existing === undefined) {
      const bytes = nodeKey.length + NODE_RECORD_BYTES;
      let check = this.#nodeLedger.check(source, 1);
      if (!check.ok) {
        this.#expireNodes(now);
        check = this.#nodeLedger.check(source, 1);
      }
      if (!check.ok) return { ok: false, reason: byShare(this.#nodeLedger, check) ? 'source_node_share_exceeded' : 'relay_node_limit' };
      const fits = this.#bytes.check(source, bytes);
      if (!fits.ok) return { ok: false, reason: byShare(this.#bytes, fits) ? 'source_bytes_share_exceeded' : 'relay_node_limit' };
      this.#nodeLedger.add(source, 1);
      this.#charge(source, bytes);
    }
    // A key stays charged to the address that first registered it (a refresh from elsewhere,
    // e.g. a node whose address changed, is not a new registration).
    const entry = existing ?? { lastSeen: now, registeredAt: now, source, bytes: nodeKey.length + NODE_RECORD_BYTES, inflight: new Set<InflightEntry>() };
    entry.lastSeen = now;
    this.#nodes.delete(nodeKey);
    this.#nodes.set(nodeKey, entry);
    return { ok: true, created: existing === undefined };
  }

  /**
   * A random source first, then a random live node of it: one address's many keys weigh as much
   * as one honest home's single key, so junk registered from a few addresses is picked in
   * proportion to those addresses, not to its keys.
   */
  async pickNode(now: number): Promise<string | null> {
    const bySource = new Map<string, string[]>();
    for (const [key, node] of this.#nodes) {
      if (!this.#alive(node, now)) continue;
      const keys = bySource.get(node.source);
      if (keys === undefined) bySource.set(node.source, [key]);
      else keys.push(key);
    }
    if (bySource.size === 0) return null;
    const groups = [...bySource.values()];
    const keys = groups[randomInt(groups.length)]!;
    return keys[randomInt(keys.length)] ?? null;
  }

  async enqueue(nodeKey: string, request: QueuedRequest, now: number, source: string = LOCAL_SOURCE): Promise<EnqueueOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node === undefined || !this.#alive(node, now)) return { ok: false, reason: 'node_not_found' };
    const queue = this.#queues.get(nodeKey);
    this.#dropExpiredHead(nodeKey, queue, now);
    // The source's share of this node's queue first, so one address cannot bury an honest node.
    const perNode = this.#queueBySource.get(nodeKey);
    if (this.#shares.queuePerNode < this.limits.maxQueuePerNode && (perNode?.get(source) ?? 0) >= this.#shares.queuePerNode)
      return { ok: false, reason: 'source_queue_share_exceeded' };
    if ((queue?.length ?? 0) >= this.limits.maxQueuePerNode) return { ok: false, reason: 'node_queue_full' };
    if ((this.#queuedPerClient.get(request.clientKey) ?? 0) >= this.limits.maxQueuePerClient) {
      return { ok: false, reason: 'client_queue_full' };
    }
    const bytes = requestBytes(request);
    const total = this.#queueLedger.check(source, 1);
    if (!total.ok) return { ok: false, reason: byShare(this.#queueLedger, total) ? 'source_queue_share_exceeded' : 'relay_queue_full' };
    const fits = this.#bytes.check(source, bytes);
    if (!fits.ok) return { ok: false, reason: byShare(this.#bytes, fits) ? 'source_bytes_share_exceeded' : 'relay_queue_full' };
    const entry = new QueuedEntry(request.clientKey, request.chatHistory, request.cipherkey, request.iv, request.stream, now, bytes, source);
    const target = queue ?? new Fifo<QueuedEntry>();
    target.push(entry);
    this.#queues.set(nodeKey, target);
    this.#queued += 1;
    this.#charge(source, bytes);
    this.#queueLedger.add(source, 1);
    const counts = perNode ?? new Map<string, number>();
    counts.set(source, (counts.get(source) ?? 0) + 1);
    this.#queueBySource.set(nodeKey, counts);
    this.#queuedPerClient.set(request.clientKey, (this.#queuedPerClient.get(request.clientKey) ?? 0) + 1);
    this.#hub.notify('work', nodeKey);
    return { ok: true, queueDepth: target.length };
  }

  #unqueue(nodeKey: string, entry: QueuedEntry): void {
    this.#queued -= 1;
    this.#charge(entry.source, -entry.bytes);
    this.#queueLedger.add(entry.source, -1);
    const perNode = this.#queueBySource.get(nodeKey);
    const mine = (perNode?.get(entry.source) ?? 1) - 1;
    if (perNode !== undefined) {
      if (mine <= 0) perNode.delete(entry.source);
      else perNode.set(entry.source, mine);
      if (perNode.size === 0) this.#queueBySource.delete(nodeKey);
    }
    const left = (this.#queuedPerClient.get(entry.clientKey) ?? 1) - 1;
    if (left <= 0) this.#queuedPerClient.delete(entry.clientKey);
    else this.#queuedPerClient.set(entry.clientKey, left);
  }

  /** Drops expired entries at the head of one queue; returns how many went. */
  #dropExpiredHead(nodeKey: string, queue: Fifo<QueuedEntry> | undefined, now: number): number {
    let dropped = 0;
    const ttl = this.limits.requestTtlMs;
    while (queue !== undefined && queue.length > 0 && queue.peek()!.enqueuedAt + ttl <= now) {
      this.#unqueue(nodeKey, queue.shift()!);
      dropped += 1;
    }
    return dropped;
  }

  async claim(nodeKey: string, max: number, now: number): Promise<ClaimedRequest[]> {
    const queue = this.#queues.get(nodeKey);
    this.#dropExpiredHead(nodeKey, queue, now);
    const node = this.#nodes.get(nodeKey);
    const claimed: ClaimedRequest[] = [];
    while (queue !== undefined && queue.length > 0 && claimed.length < max) {
      const entry = queue.shift()!;
      this.#unqueue(nodeKey, entry);
      const item: ClaimedRequest = {
        clientKey: entry.clientKey,
        chatHistory: entry.chatHistory,
        cipherkey: entry.cipherkey,
        iv: entry.iv,
        stream: entry.stream,
        enqueuedAt: entry.enqueuedAt,
      };
      if (entry.stream) item.streamSessionId = this.#openStream(entry.clientKey, entry.source, now);
      // The job record is charged to the request's source (over a full ledger the add still
      // happens: the request's own bytes were just released, and a claim is never refused).
      const bytes = entry.clientKey.length + nodeKey.length + JOB_RECORD_BYTES;
      this.#charge(entry.source, bytes);
      const job: InflightEntry = { nodeKey, enqueuedAt: entry.enqueuedAt, expiresAt: now + this.limits.requestTtlMs, source: entry.source, bytes };
      const jobs = this.#inflight.get(entry.clientKey) ?? [];
      jobs.push(job);
      this.#inflight.set(entry.clientKey, jobs);
      node?.inflight.add(job);
      claimed.push(item);
    }
    if (queue !== undefined && queue.length === 0) this.#queues.delete(nodeKey);
    return claimed;
  }

  #openStream(clientKey: string, source: string, now: number): string {
    const previous = this.#streamByClient.get(clientKey);
    const old = previous === undefined ? undefined : this.#streams.get(previous);
    if (old !== undefined) this.#closeStream(old);
    if (!this.#streamLedger.fits(source, 1)) {
      // Bounded: over its share, the source's own least recently touched session makes room;
      // at the global cap (last line), the least recently touched of all.
      let victim: StreamEntry | undefined;
      if (this.#streamLedger.used(source) >= this.#streamLedger.share) {
        for (const entry of this.#streams.values())
          if (entry.source === source) {
            victim = entry;
            break;
          }
      }
      victim ??= this.#streams.values().next().value;
      if (victim !== undefined) this.#closeStream(victim);
    }
    const sessionId = randomBytes(16).toString('hex');
    const bytes = sessionId.length + clientKey.length + SESSION_RECORD_BYTES;
    this.#streams.set(sessionId, {
      sessionId,
      clientKey,
      chunks: [],
      chunkSources: [],
      source,
      charges: new Map([[source, bytes]]),
      answered: false,
      delivered: 0,
      final: false,
      expiresAt: now + this.limits.streamTtlMs,
    });
    this.#streamLedger.add(source, 1);
    this.#charge(source, bytes);
    this.#streamByClient.set(clientKey, sessionId);
    return sessionId;
  }

  #closeStream(entry: StreamEntry): void {
    if (!this.#streams.delete(entry.sessionId)) return;
    this.#streamLedger.add(entry.source, -1);
    for (const [source, bytes] of entry.charges) this.#charge(source, -bytes);
    entry.charges.clear();
    if (this.#streamByClient.get(entry.clientKey) === entry.sessionId) this.#streamByClient.delete(entry.clientKey);
  }

  #releaseJob(job: InflightEntry): void {
    this.#charge(job.source, -job.bytes);
    job.bytes = 0;
  }

  #finishInflight(clientKey: string, now: number): number | null {
    const jobs = this.#inflight.get(clientKey);
    const job = jobs?.shift();
    if (jobs !== undefined && jobs.length === 0) this.#inflight.delete(clientKey);
    if (job === undefined) return null;
    this.#releaseJob(job);
    const node = this.#nodes.get(job.nodeKey);
    if (node !== undefined) {
      node.inflight.delete(job);
      // Answering is a sign of life (protocol.md §C.1: silence counts from /sink or /source).
      node.lastSeen = Math.max(node.lastSeen, now);
    }
    return job.enqueuedAt;
  }

  #hasLiveJob(clientKey: string, now: number): boolean {
    for (const job of this.#inflight.get(clientKey) ?? []) if (job.expiresAt > now) return true;
    return false;
  }

  async complete(clientKey: string, response: EncryptedResponse, now: number, source: string = LOCAL_SOURCE): Promise<CompleteOutcome> {
    // Only a claimed, unanswered request may be answered (the real node only answers what it claimed).
    this.#dropExpiredJobs(clientKey, now);
    if (!this.#hasLiveJob(clientKey, now)) return { ok: false, reason: 'answer_not_requested' };
    const bytes = responseBytes(clientKey, response);
    const previous = this.#responses.get(clientKey);
    // Replacing an unretrieved answer frees its record (charged to whoever stored it).
    const mine = previous !== undefined && previous.source === source;
    const responses = this.#responseLedger;
    if (!mine && responses.share < responses.cap && responses.used(source) + 1 > responses.share) {
      return { ok: false, reason: 'source_response_share_exceeded' };
    }
    if (previous === undefined && responses.total + 1 > responses.cap) return { ok: false, reason: 'response_store_full' };
    const ledger = this.#bytes;
    if (ledger.share < ledger.cap && ledger.used(source) - (mine ? previous.bytes : 0) + bytes > ledger.share) {
      return { ok: false, reason: 'source_bytes_share_exceeded' };
    }
    if (ledger.total - (previous?.bytes ?? 0) + bytes > ledger.cap) return { ok: false, reason: 'response_store_full' };
    const requestEnqueuedAt = this.#finishInflight(clientKey, now);
    if (previous !== undefined) this.#dropResponse(clientKey, previous);
    this.#responses.set(clientKey, new ResponseEntry(response.chatHistory, response.cipherkey, response.iv, now, requestEnqueuedAt, bytes, source));
    this.#charge(source, bytes);
    this.#responseLedger.add(source, 1);
    this.#hub.notify('response', clientKey);
    return { ok: true, replaced: previous !== undefined, requestEnqueuedAt };
  }

  async retrieve(clientKey: string, now: number): Promise<StoredResponse | null> {
    const entry = this.#responses.get(clientKey);
    if (entry === undefined) return null;
    this.#dropResponse(clientKey, entry);
    if (entry.storedAt + this.limits.responseTtlMs <= now) return null;
    return { chatHistory: entry.chatHistory, cipherkey: entry.cipherkey, iv: entry.iv, storedAt: entry.storedAt, requestEnqueuedAt: entry.requestEnqueuedAt };
  }

  #dropResponse(clientKey: string, entry: ResponseEntry): void {
    this.#responses.delete(clientKey);
    this.#charge(entry.source, -entry.bytes);
    this.#responseLedger.add(entry.source, -1);
  }

  #dropExpiredJobs(clientKey: string, now: number): void {
    const jobs = this.#inflight.get(clientKey);
    if (jobs === undefined) return;
    const kept = jobs.filter((job) => {
      if (job.expiresAt > now) return true;
      this.#releaseJob(job);
      this.#nodes.get(job.nodeKey)?.inflight.delete(job);
      return false;
    });
    if (kept.length === 0) this.#inflight.delete(clientKey);
    else if (kept.length !== jobs.length) this.#inflight.set(clientKey, kept);
  }

  async appendChunk(sessionId: string, chunk: string, final: boolean, now: number, source: string = LOCAL_SOURCE): Promise<ChunkOutcome> {
    const entry = this.#streams.get(sessionId);
    if (entry === undefined || entry.expiresAt <= now) return { ok: false, reason: 'stream_session_not_found' };
    if (entry.chunks.length >= this.limits.maxStreamChunks) return { ok: false, reason: 'stream_session_full' };
    // Chunks count against the byte cap, charged to the address that posts them.
    const fits = this.#bytes.check(source, chunk.length);
    if (!fits.ok) return { ok: false, reason: byShare(this.#bytes, fits) ? 'source_bytes_share_exceeded' : 'stream_session_full' };
    this.#charge(source, chunk.length);
    entry.charges.set(source, (entry.charges.get(source) ?? 0) + chunk.length);
    entry.chunks.push(chunk);
    entry.chunkSources.push(source);
    if (final) {
      entry.final = true;
      // The final chunk answers the stream request: its in-flight job ends (sign of life too).
      if (!entry.answered) {
        entry.answered = true;
        this.#dropExpiredJobs(entry.clientKey, now);
        this.#finishInflight(entry.clientKey, now);
      }
    }
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
    // Delivered chunks are not kept: free them (and their bytes) at once.
    this.#releaseDelivered(entry);
    if (entry.final) this.#closeStream(entry);
    return { sessionId: entry.sessionId, chunks, final: entry.final };
  }

  #releaseDelivered(entry: StreamEntry): void {
    entry.chunks.forEach((text, i) => {
      const source = entry.chunkSources[i]!;
      this.#charge(source, -text.length);
      const left = (entry.charges.get(source) ?? 0) - text.length;
      if (left <= 0) entry.charges.delete(source);
      else entry.charges.set(source, left);
    });
    entry.chunks = [];
    entry.chunkSources = [];
    entry.delivered = 0;
  }

  #expireNodes(now: number, removed: LegacyNodeInfo[] = []): number {
    for (const [key, node] of this.#nodes) {
      for (const job of node.inflight) if (job.expiresAt <= now) node.inflight.delete(job);
      if (!this.#alive(node, now)) {
        this.#nodes.delete(key);
        this.#nodeLedger.add(node.source, -1);
        this.#charge(node.source, -node.bytes);
        removed.push({ key, source: node.source, lastSeen: node.lastSeen });
      }
    }
    return removed.length;
  }

  async nodeInfo(nodeKey: string): Promise<LegacyNodeInfo | null> {
    const node = this.#nodes.get(nodeKey);
    return node === undefined ? null : { key: nodeKey, source: node.source, lastSeen: node.lastSeen };
  }

  async expire(now: number): Promise<ExpiryCounts> {
    const expiredNodes: LegacyNodeInfo[] = [];
    const counts: ExpiryCounts = { nodes: this.#expireNodes(now, expiredNodes), requests: 0, responses: 0, streams: 0 };
    if (expiredNodes.length > 0) counts.expiredNodes = expiredNodes;
    for (const [key, queue] of this.#queues) {
      counts.requests += this.#dropExpiredHead(key, queue, now);
      if (queue.length === 0) this.#queues.delete(key);
    }
    for (const clientKey of [...this.#inflight.keys()]) this.#dropExpiredJobs(clientKey, now);
    for (const [key, entry] of this.#responses) {
      if (entry.storedAt + this.limits.responseTtlMs > now) break; // insertion order = expiry order
      this.#dropResponse(key, entry);
      counts.responses += 1;
    }
    for (const entry of [...this.#streams.values()]) {
      if (entry.expiresAt > now) break;
      this.#closeStream(entry);
      counts.streams += 1;
    }
    return counts;
  }

  /** This half's part of the store's stats. */
  stats(now: number): { nodes: number; queued: number; oldestQueuedAgeMs: number; inflight: number; responses: number; streams: number } {
    let nodes = 0;
    for (const node of this.#nodes.values()) if (this.#alive(node, now)) nodes += 1;
    let oldest = now;
    for (const queue of this.#queues.values()) {
      const head = queue.peek();
      if (head !== undefined && head.enqueuedAt < oldest) oldest = head.enqueuedAt;
    }
    let inflight = 0;
    for (const jobs of this.#inflight.values()) inflight += jobs.length;
    return { nodes, queued: this.#queued, oldestQueuedAgeMs: now - oldest, inflight, responses: this.#responses.size, streams: this.#streams.size };
  }

  /** One pass over each ledger's sources (at most its cap's units): bounded per scrape. */
  shareUsage(): { nodes: ShareUse; queued: ShareUse; responses: ShareUse; streams: ShareUse } {
    return { nodes: this.#nodeLedger.usage(), queued: this.#queueLedger.usage(), responses: this.#responseLedger.usage(), streams: this.#streamLedger.usage() };
  }

  listNodes(now: number, limit: number): { views: NodeView[]; total: number } {
    const views: NodeView[] = [];
    let total = 0;
    for (const [key, node] of this.#nodes) {
      if (!this.#alive(node, now)) continue;
      total += 1;
      if (views.length < limit) {
        views.push({
          protocol: 'legacy',
          key,
          ageMs: Math.max(0, now - node.lastSeen),
          queueDepth: this.#queues.get(key)?.length ?? 0,
          inflight: node.inflight.size,
          registeredAgoMs: Math.max(0, now - node.registeredAt),
          leaseLeftMs: Math.max(0, node.lastSeen + this.limits.nodeTtlMs - now),
        });
      }
    }
    return { views, total };
  }

  #queuedView(e: QueuedEntry): Record<string, unknown> {
    const { clientKey, chatHistory, cipherkey, iv, stream, enqueuedAt, bytes, source } = e;
    return { clientKey, chatHistory, cipherkey, iv, stream, enqueuedAt, expiresAt: enqueuedAt + this.limits.requestTtlMs, bytes, source };
  }

  #responseView(r: ResponseEntry): Record<string, unknown> {
    const { chatHistory, cipherkey, iv, storedAt, requestEnqueuedAt, bytes, source } = r;
    return { chatHistory, cipherkey, iv, storedAt, requestEnqueuedAt, expiresAt: storedAt + this.limits.responseTtlMs, bytes, source };
  }

  snapshot(): unknown {
    const sorted = <V>(map: Map<string, V>, f: (v: V) => unknown) =>
      [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, f(v)]);
    return {
      nodes: sorted(this.#nodes, (n) => ({ lastSeen: n.lastSeen, source: n.source, inflight: n.inflight.size })),
      queues: sorted(this.#queues, (q) => [...q].map((e) => this.#queuedView(e))),
      inflight: sorted(this.#inflight, (jobs) => jobs),
      responses: sorted(this.#responses, (r) => this.#responseView(r)),
      streams: [...this.#streams.values()]
        .map((s) => ({ ...s, chunks: [...s.chunks], chunkSources: [...s.chunkSources], charges: [...s.charges.entries()].sort() }))
        .sort((a, b) => (a.sessionId < b.sessionId ? -1 : 1)),
      queued: this.#queued,
      storedBytes: this.#storedBytes,
    };
  }
}
