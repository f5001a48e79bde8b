// In-process state of the API v1 relay protocol, composed into MemoryStore. Every method runs
// synchronously, so each transition is atomic within the process. The contracts are documented
// on RelayStore (types.ts); this file keeps the data structures:
//
//   nodes       node key -> registration (lease, capabilities, credential digest, its queue and
//               in-flight requests keyed by request id)
//   active      queued and in-flight requests, in admission order (= deadline order)
//   held        answered requests waiting for their client, in completion order (= expiry order)
//   tombstones  ended requests (cancelled, expired, completed), so late callers get 410 and the
//               owning node's control poll learns the outcome; bounded and swept
import type { SourceLedger } from './source-ledger.js';
import { WaiterHub } from './waiter-hub.js';
import type { StoreLimits, V1Transitions } from './types.js';
import { resolveV1Limits, type V1Limits } from './v1-limits.js';
import { selectBestFit, type SelectionCandidate } from './v1-selection.js';
import {
  endedFor,
  v1ResponseWakeKey,
  v1WorkWakeKey,
  type NodeView,
  type V1AcceptOutcome,
  type V1AdmitOutcome,
  type V1CancelOutcome,
  type V1Capabilities,
  type V1Ciphertext,
  type V1ClaimOutcome,
  type V1ControlOutcome,
  type V1Ended,
  type V1ExpiryReport,
  type V1LeaseOutcome,
  type V1NewRequest,
  type V1ProgressOutcome,
  type V1RegisterOutcome,
  type V1RetrieveOutcome,
  type V1SelectQuery,
  type V1Selection,
  type V1TerminalReason,
  type V1TerminalStatus,
  type V1UnregisterOutcome,
} from './v1-types.js';

interface NodeRec {
  key: string;
  seq: number;
  capabilities: V1Capabilities;
  digest: string;
  leaseUntil: number;
  lastSeen: number;
  /** Queued requests by request id, oldest first. */
  queue: Map<string, ReqRec>;
  /** Claimed requests by request id. */
  inflight: Map<string, ReqRec>;
}

interface ReqRec {
  key: string;
  clientKey: string;
  requestId: string;
  nodeKey: string;
  cancelDigest: string | null;
  admittedAt: number;
  deadlineAt: number;
  state: 'queued' | 'inflight' | 'held';
  /** queued: the request ciphertext; held: the response ciphertext; in flight: none. */
  payload: V1Ciphertext | null;
  /** The latest encrypted progress record (in flight only). */
  progress: V1Ciphertext | null;
  /** In-flight accounting lease (counts toward load and node liveness). */
  leaseUntil: number;
  completedAt: number;
  heldUntil: number;
  bytes: number;
}

interface Tomb {
  key: string;
  clientKey: string;
  requestId: string;
  status: V1TerminalStatus | 'completed';
  reason: V1TerminalReason | 'completed';
  cancelDigest: string | null;
  deadlineAt: number | null;
  /** The client learns the outcome until then. */
  clientUntil: number;
  /** The node that held the request in flight learns it until then (0: never / acknowledged). */
  nodeKey: string | null;
  ownerDigest: string | null;
  nodeUntil: number;
}

const requestKey = (clientKey: string, requestId: string): string => `${clientKey}\u0000${requestId}`;
const nodeTombKey = (nodeKey: string, requestId: string): string => `${nodeKey}\u0000${requestId}`;

function cipherBytes(c: V1Ciphertext | null): number {
  return c === null ? 0 : c.ciphertext.length + c.cipherkey.length + c.iv.length;
}

function first<V>(map: Map<string, V>): V | undefined {
  return map.values().next().value as V | undefined;
}

const byKey = <T extends { key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export class V1Memory implements V1Transitions {
  readonly limits: V1Limits;
  readonly #nodes = new Map<string, NodeRec>();
  readonly #active = new Map<string, ReqRec>();
  readonly #held = new Map<string, ReqRec>();
  readonly #tombs = new Map<string, Tomb>();
  readonly #nodeTombs = new Map<string, string>();
  readonly #perClient = new Map<string, number>();
  #seq = 0;
  #cursor = 0;
  #bytes = 0;

  constructor(
    private readonly base: StoreLimits,
    private readonly hub: WaiterHub,
    /** The store's byte ledger, shared with the legacy half: one cap for both protocols. */
    private readonly ledger: SourceLedger,
  ) {
    this.limits = resolveV1Limits(base);
  }

  get bytes(): number {
    return this.#bytes;
  }

  #healthy(node: NodeRec, now: number): boolean {
    if (node.leaseUntil > now) return true;
    for (const rec of node.inflight.values()) if (rec.leaseUntil > now) return true;
    return false;
  }

  #liveInflight(node: NodeRec, now: number): number {
    let n = 0;
    for (const rec of node.inflight.values()) if (rec.leaseUntil > now) n += 1;
    return n;
  }

  #renewNode(node: NodeRec, now: number, extraMs = 0): void {
    node.leaseUntil = Math.max(node.leaseUntil, now + this.limits.v1LeaseMs + extraMs);
    node.lastSeen = Math.max(node.lastSeen, now);
  }

  #fits(extra: number): boolean {
    return this.ledger.total + extra <= this.base.maxStoredBytes;
  }

  #setBytes(rec: ReqRec, bytes: number): void {
    this.#bytes += bytes - rec.bytes;
    // Until API v1 records carry their source, its bytes count under one ledger entry.
    this.ledger.add('v1', bytes - rec.bytes);
    rec.bytes = bytes;
  }

  #wakeClient(rec: { clientKey: string; requestId: string }): void {
    this.hub.notify('response', v1ResponseWakeKey(rec.clientKey, rec.requestId));
  }

  #clientDelta(clientKey: string, delta: number): void {
    const n = (this.#perClient.get(clientKey) ?? 0) + delta;
    if (n <= 0) this.#perClient.delete(clientKey);
    else this.#perClient.set(clientKey, n);
  }

  // ------------------------------------------------------------------ tombstones

  #dropTomb(tomb: Tomb): void {
    this.#tombs.delete(tomb.key);
    if (tomb.nodeKey !== null) {
      const index = nodeTombKey(tomb.nodeKey, tomb.requestId);
      if (this.#nodeTombs.get(index) === tomb.key) this.#nodeTombs.delete(index);
    }
  }

  #bury(tomb: Tomb): void {
    const previous = this.#tombs.get(tomb.key);
    if (previous !== undefined) this.#dropTomb(previous);
    while (this.#tombs.size >= this.limits.v1MaxTombstones) {
      const oldest = first(this.#tombs);
      if (oldest === undefined) break;
      this.#dropTomb(oldest);
    }
    this.#tombs.set(tomb.key, tomb);
    if (tomb.nodeKey !== null) this.#nodeTombs.set(nodeTombKey(tomb.nodeKey, tomb.requestId), tomb.key);
  }

  #clientTomb(key: string, now: number): Tomb | undefined {
    const tomb = this.#tombs.get(key);
    return tomb !== undefined && tomb.clientUntil > now ? tomb : undefined;
  }

  #nodeTomb(nodeKey: string, requestId: string, now: number): Tomb | undefined {
    const key = this.#nodeTombs.get(nodeTombKey(nodeKey, requestId));
    const tomb = key === undefined ? undefined : this.#tombs.get(key);
    return tomb !== undefined && tomb.nodeUntil > now ? tomb : undefined;
  }

  /**
   * Ends a request: out of its queue / in-flight set / held set, ciphertext released, a
   * tombstone left (visible to the owning node when it was in flight), waiting client woken.
   * A request that was still active is reported in `ended` exactly once.
   */
  #end(rec: ReqRec, status: V1TerminalStatus, reason: V1TerminalReason, now: number, ended: V1Ended[]): void {
    const node = this.#nodes.get(rec.nodeKey);
    const wasInflight = rec.state === 'inflight';
    if (rec.state === 'held') {
      this.#held.delete(rec.key);
    } else {
      this.#active.delete(rec.key);
      if (node !== undefined) {
        if (node.queue.get(rec.requestId) === rec) node.queue.delete(rec.requestId);
        if (node.inflight.get(rec.requestId) === rec) node.inflight.delete(rec.requestId);
      }
      this.#clientDelta(rec.clientKey, -1);
      ended.push(endedFor(status, reason));
    }
    this.#setBytes(rec, 0);
    rec.payload = null;
    rec.progress = null;
    const owned = wasInflight && node !== undefined;
    this.#bury({
      key: rec.key,
      clientKey: rec.clientKey,
      requestId: rec.requestId,
      status,
      reason,
      cancelDigest: rec.cancelDigest,
      deadlineAt: rec.deadlineAt,
      clientUntil: now + this.limits.v1TerminalTtlMs,
      nodeKey: owned ? rec.nodeKey : null,
      ownerDigest: owned ? node.digest : null,
      nodeUntil: owned ? now + this.limits.v1ControlTombstoneTtlMs : 0,
    });
    this.#wakeClient(rec);
  }

  #removeNode(node: NodeRec, now: number, ended: V1Ended[]): void {
    for (const rec of [...node.queue.values(), ...node.inflight.values()]) this.#end(rec, 'cancelled', 'server_unregistered', now, ended);
    this.#nodes.delete(node.key);
    this.hub.notify('work', v1WorkWakeKey(node.key));
  }

  // ------------------------------------------------------------------ nodes

  async registerNode(nodeKey: string, capabilities: V1Capabilities, credentialDigest: string, now: number): Promise<V1RegisterOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node !== undefined) {
      node.capabilities = capabilities;
      this.#renewNode(node, now);
      return { ok: true, created: false, credentialIssued: false };
    }
    if (this.#nodes.size >= this.base.maxNodes) return { ok: false, reason: 'relay_node_limit' };
    this.#seq += 1;
    this.#nodes.set(nodeKey, {
      key: nodeKey,
      seq: this.#seq,
      capabilities,
      digest: credentialDigest,
      leaseUntil: now + this.limits.v1LeaseMs,
      lastSeen: now,
      queue: new Map(),
      inflight: new Map(),
    });
    return { ok: true, created: true, credentialIssued: true };
  }

  async renewLease(nodeKey: string, capabilities: V1Capabilities | null, now: number, holdMs: number): Promise<V1LeaseOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node === undefined) return { ok: false, reason: 'node_not_found' };
    if (capabilities !== null) node.capabilities = capabilities;
    this.#renewNode(node, now, Math.max(0, holdMs));
    return { ok: true };
  }

  async unregisterNode(nodeKey: string, credentialDigest: string | null, now: number): Promise<V1UnregisterOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node === undefined) return { ok: true, removed: false, ended: [] };
    if (credentialDigest === null || credentialDigest !== node.digest) return { ok: false, reason: 'forbidden' };
    const ended: V1Ended[] = [];
    this.#removeNode(node, now, ended);
    return { ok: true, removed: true, ended };
  }

  async selectNode(query: V1SelectQuery, now: number): Promise<V1Selection> {
    const candidates: SelectionCandidate[] = [];
    for (const node of this.#nodes.values()) {
      if (!this.#healthy(node, now)) continue;
      candidates.push({ key: node.key, seq: node.seq, capabilities: node.capabilities, queueDepth: node.queue.size, inflight: this.#liveInflight(node, now) });
    }
    const { selection, cursor } = selectBestFit(candidates, query, this.#cursor, this.limits.v1MaxQueuePerNode);
    this.#cursor = cursor;
    return selection;
  }

  // ------------------------------------------------------------------ requests

  async admitRequest(request: V1NewRequest, now: number): Promise<V1AdmitOutcome> {
    const node = this.#nodes.get(request.nodeKey);
    if (node === undefined || !this.#healthy(node, now)) return { ok: false, reason: 'node_not_found' };
    const key = requestKey(request.clientKey, request.requestId);
    if (this.#active.has(key) || this.#held.has(key) || this.#clientTomb(key, now) !== undefined) return { ok: false, reason: 'request_id_conflict' };
    if (node.queue.has(request.requestId) || node.inflight.has(request.requestId)) return { ok: false, reason: 'request_id_conflict' };
    if (node.queue.size >= this.limits.v1MaxQueuePerNode) return { ok: false, reason: 'node_queue_full' };
    if ((this.#perClient.get(request.clientKey) ?? 0) >= this.base.maxQueuePerClient) return { ok: false, reason: 'client_queue_full' };
    const payload: V1Ciphertext = { ciphertext: request.ciphertext, cipherkey: request.cipherkey, iv: request.iv };
    const bytes = cipherBytes(payload) + request.clientKey.length + request.requestId.length;
    if (this.#active.size + this.#held.size >= this.limits.v1MaxRequests || !this.#fits(bytes)) return { ok: false, reason: 'relay_queue_full' };
    const rec: ReqRec = {
      key,
      clientKey: request.clientKey,
      requestId: request.requestId,
      nodeKey: request.nodeKey,
      cancelDigest: request.cancelTokenDigest,
      admittedAt: now,
      deadlineAt: now + this.limits.v1DeadlineMs,
      state: 'queued',
      payload,
      progress: null,
      leaseUntil: 0,
      completedAt: 0,
      heldUntil: 0,
      bytes: 0,
    };
    this.#setBytes(rec, bytes);
    node.queue.set(request.requestId, rec);
    this.#active.set(key, rec);
    this.#clientDelta(request.clientKey, 1);
    this.hub.notify('work', v1WorkWakeKey(node.key));
    return { ok: true, deadlineAt: rec.deadlineAt, queueDepth: node.queue.size };
  }

  async claimRequest(nodeKey: string, now: number): Promise<V1ClaimOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node === undefined) return { ok: false, reason: 'node_not_found' };
    const ended: V1Ended[] = [];
    for (let head = first(node.queue); head !== undefined; head = first(node.queue)) {
      if (head.deadlineAt <= now) {
        this.#end(head, 'expired', 'provider_timeout', now, ended);
        continue;
      }
      const payload = head.payload!;
      node.queue.delete(head.requestId);
      node.inflight.set(head.requestId, head);
      head.state = 'inflight';
      head.payload = null;
      head.leaseUntil = Math.min(now + this.limits.v1InflightLeaseMs, head.deadlineAt);
      this.#setBytes(head, 0);
      this.#renewNode(node, now);
      return {
        ok: true,
        ended,
        request: { ...payload, clientKey: head.clientKey, requestId: head.requestId, admittedAt: head.admittedAt, deadlineAt: head.deadlineAt },
      };
    }
    this.#renewNode(node, now);
    return { ok: true, request: null, ended };
  }

  async renewInflight(nodeKey: string, requestId: string, credentialDigest: string | null, acknowledge: boolean, now: number): Promise<V1ControlOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node !== undefined) {
      if (credentialDigest === null || credentialDigest !== node.digest) return { ok: false, reason: 'forbidden' };
      const rec = node.inflight.get(requestId);
      if (rec !== undefined) {
        if (rec.deadlineAt <= now) {
          const ended: V1Ended[] = [];
          this.#end(rec, 'expired', 'provider_timeout', now, ended);
          return { ok: true, status: 'expired', deadlineAt: rec.deadlineAt, acknowledged: false, ended };
        }
        rec.leaseUntil = Math.min(now + this.limits.v1InflightLeaseMs, rec.deadlineAt);
        node.lastSeen = Math.max(node.lastSeen, now);
        return { ok: true, status: 'active', deadlineAt: rec.deadlineAt };
      }
    }
    const tomb = this.#nodeTomb(nodeKey, requestId, now);
    const owner = tomb !== undefined && credentialDigest !== null && tomb.ownerDigest === credentialDigest;
    if (tomb === undefined || !owner) return node === undefined ? { ok: false, reason: 'forbidden' } : { ok: true, status: 'unavailable' };
    if (tomb.status === 'completed') return { ok: true, status: 'unavailable' };
    if (acknowledge) {
      tomb.nodeUntil = 0;
      this.#nodeTombs.delete(nodeTombKey(nodeKey, requestId));
    }
    return { ok: true, status: tomb.status, deadlineAt: tomb.deadlineAt, acknowledged: acknowledge, ended: [] };
  }

  async acceptResponse(clientKey: string, requestId: string, response: V1Ciphertext, now: number): Promise<V1AcceptOutcome> {
    const key = requestKey(clientKey, requestId);
    const rec = this.#active.get(key);
    if (rec !== undefined) {
      const ended: V1Ended[] = [];
      if (rec.deadlineAt <= now) {
        this.#end(rec, 'expired', 'provider_timeout', now, ended);
        return { ok: false, reason: 'request_gone', status: 'expired', ended };
      }
      const payload: V1Ciphertext = { ciphertext: response.ciphertext, cipherkey: response.cipherkey, iv: response.iv };
      const bytes = cipherBytes(payload) + clientKey.length + requestId.length;
      if (!this.#fits(bytes - rec.bytes)) return { ok: false, reason: 'response_store_full' };
      const node = this.#nodes.get(rec.nodeKey);
      if (node !== undefined) {
        if (node.queue.get(requestId) === rec) node.queue.delete(requestId);
        if (node.inflight.get(requestId) === rec) {
          node.inflight.delete(requestId);
          // Answering is a sign of life.
          this.#renewNode(node, now);
        }
      }
      this.#active.delete(key);
      this.#clientDelta(clientKey, -1);
      rec.state = 'held';
      rec.payload = payload;
      rec.progress = null;
      rec.completedAt = now;
      rec.heldUntil = now + this.limits.v1ResponseTtlMs;
      this.#setBytes(rec, bytes);
      this.#held.set(key, rec);
      ended.push({ outcome: 'completed', reason: 'completed' });
      this.#wakeClient(rec);
      return { ok: true, duplicate: false, ended };
    }
    if (this.#held.has(key)) return { ok: true, duplicate: true, ended: [] };
    const tomb = this.#clientTomb(key, now);
    return { ok: false, reason: 'request_gone', status: tomb?.status ?? 'gone', ended: [] };
  }

  #popHeld(rec: ReqRec, now: number): V1RetrieveOutcome {
    const payload = rec.payload!;
    this.#held.delete(rec.key);
    this.#setBytes(rec, 0);
    rec.payload = null;
    this.#bury({
      key: rec.key,
      clientKey: rec.clientKey,
      requestId: rec.requestId,
      status: 'completed',
      reason: 'completed',
      cancelDigest: null,
      deadlineAt: rec.deadlineAt,
      clientUntil: now + this.limits.v1TerminalTtlMs,
      nodeKey: null,
      ownerDigest: null,
      nodeUntil: 0,
    });
    return { kind: 'response', response: { ...payload, clientKey: rec.clientKey, requestId: rec.requestId, admittedAt: rec.admittedAt, completedAt: rec.completedAt } };
  }

  async retrieveResponse(clientKey: string, requestId: string | null, now: number): Promise<V1RetrieveOutcome> {
    if (requestId === null) {
      for (const rec of this.#held.values()) {
        if (rec.clientKey === clientKey && rec.heldUntil > now) return this.#popHeld(rec, now);
      }
      return { kind: 'unknown' };
    }
    const key = requestKey(clientKey, requestId);
    const held = this.#held.get(key);
    if (held !== undefined) {
      if (held.heldUntil > now) return this.#popHeld(held, now);
      this.#end(held, 'expired', 'expired', now, []);
      return { kind: 'terminal', status: 'expired', reason: 'expired', ended: [] };
    }
    const rec = this.#active.get(key);
    if (rec !== undefined) {
      if (rec.deadlineAt <= now) {
        const ended: V1Ended[] = [];
        this.#end(rec, 'expired', 'provider_timeout', now, ended);
        return { kind: 'terminal', status: 'expired', reason: 'provider_timeout', ended };
      }
      const progress = rec.progress;
      if (progress !== null) {
        // Only in-flight requests carry progress, and they hold no other ciphertext.
        rec.progress = null;
        this.#setBytes(rec, 0);
      }
      return { kind: 'pending', deadlineAt: rec.deadlineAt, progress };
    }
    const tomb = this.#clientTomb(key, now);
    if (tomb !== undefined && tomb.status !== 'completed') return { kind: 'terminal', status: tomb.status, reason: tomb.reason as V1TerminalReason, ended: [] };
    return { kind: 'unknown' };
  }

  async cancelRequest(clientKey: string, requestId: string, cancelTokenDigest: string, status: V1TerminalStatus, reason: V1TerminalReason, now: number): Promise<V1CancelOutcome> {
    const key = requestKey(clientKey, requestId);
    const rec = this.#active.get(key) ?? this.#held.get(key);
    if (rec !== undefined) {
      if (rec.cancelDigest === null || rec.cancelDigest !== cancelTokenDigest) return { ok: false, reason: 'forbidden' };
      const ended: V1Ended[] = [];
      if (rec.state !== 'held' && rec.deadlineAt <= now) {
        this.#end(rec, 'expired', 'provider_timeout', now, ended);
        return { ok: true, status: 'expired', removedFromQueue: 0, ended };
      }
      const removedFromQueue = rec.state === 'queued' ? 1 : 0;
      this.#end(rec, status, reason, now, ended);
      return { ok: true, status, removedFromQueue, ended };
    }
    const tomb = this.#clientTomb(key, now);
    if (tomb !== undefined && tomb.status !== 'completed' && tomb.cancelDigest !== null && tomb.cancelDigest === cancelTokenDigest) {
      return { ok: true, status: tomb.status, removedFromQueue: 0, ended: [] };
    }
    return { ok: false, reason: 'forbidden' };
  }

  async recordProgress(nodeKey: string, credentialDigest: string, clientKey: string, requestId: string, progress: V1Ciphertext, now: number): Promise<V1ProgressOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node === undefined || credentialDigest !== node.digest) return { ok: false, reason: 'forbidden' };
    const rec = node.inflight.get(requestId);
    if (rec === undefined || rec.clientKey !== clientKey || rec.deadlineAt <= now) return { ok: false, reason: 'not_active' };
    const record: V1Ciphertext = { ciphertext: progress.ciphertext, cipherkey: progress.cipherkey, iv: progress.iv };
    const bytes = cipherBytes(record);
    if (!this.#fits(bytes - rec.bytes)) return { ok: false, reason: 'response_store_full' };
    const replaced = rec.progress !== null;
    rec.progress = record;
    this.#setBytes(rec, bytes);
    this.#wakeClient(rec);
    return { ok: true, replaced };
  }

  // ------------------------------------------------------------------ housekeeping

  async expire(now: number): Promise<V1ExpiryReport> {
    const report: V1ExpiryReport = { evictedNodes: 0, ended: [], expiredResponses: 0, prunedTombstones: 0 };
    for (let rec = first(this.#active); rec !== undefined && rec.deadlineAt <= now; rec = first(this.#active)) {
      this.#end(rec, 'expired', 'provider_timeout', now, report.ended);
    }
    for (let rec = first(this.#held); rec !== undefined && rec.heldUntil <= now; rec = first(this.#held)) {
      this.#end(rec, 'expired', 'expired', now, report.ended);
      report.expiredResponses += 1;
    }
    for (const node of [...this.#nodes.values()]) {
      if (this.#healthy(node, now)) continue;
      this.#removeNode(node, now, report.ended);
      report.evictedNodes += 1;
    }
    for (let tomb = first(this.#tombs); tomb !== undefined && Math.max(tomb.clientUntil, tomb.nodeUntil) <= now; tomb = first(this.#tombs)) {
      this.#dropTomb(tomb);
      report.prunedTombstones += 1;
    }
    return report;
  }

  stats(now: number): { nodes: number; healthy: number; queued: number; inflight: number; held: number; tombstones: number; oldestQueuedAgeMs: number } {
    let healthy = 0;
    let queued = 0;
    let inflight = 0;
    let oldest = now;
    for (const node of this.#nodes.values()) {
      if (this.#healthy(node, now)) healthy += 1;
      queued += node.queue.size;
      inflight += node.inflight.size;
      const head = first(node.queue);
      if (head !== undefined && head.admittedAt < oldest) oldest = head.admittedAt;
    }
    return { nodes: this.#nodes.size, healthy, queued, inflight, held: this.#held.size, tombstones: this.#tombs.size, oldestQueuedAgeMs: now - oldest };
  }

  listNodes(now: number, limit: number): { views: NodeView[]; total: number } {
    const views: NodeView[] = [];
    let total = 0;
    for (const node of this.#nodes.values()) {
      if (!this.#healthy(node, now)) continue;
      total += 1;
      if (views.length >= limit) continue;
      views.push({
        protocol: 'v1',
        key: node.key,
        ageMs: Math.max(0, now - node.lastSeen),
        queueDepth: node.queue.size,
        inflight: this.#liveInflight(node, now),
        leaseSeconds: this.limits.v1LeaseMs / 1000,
        capabilities: { ...node.capabilities, supportedModelIds: [...node.capabilities.supportedModelIds] },
      });
    }
    return { views, total };
  }

  snapshot(): unknown {
    const request = (rec: ReqRec) => ({ ...rec, payload: rec.payload === null ? null : { ...rec.payload }, progress: rec.progress === null ? null : { ...rec.progress } });
    return {
      nodes: [...this.#nodes.values()].sort(byKey).map((n) => ({
        ...n,
        capabilities: { ...n.capabilities, supportedModelIds: [...n.capabilities.supportedModelIds] },
        queue: [...n.queue.keys()],
        inflight: [...n.inflight.keys()].sort(),
      })),
      active: [...this.#active.values()].sort(byKey).map(request),
      held: [...this.#held.values()].sort(byKey).map(request),
      tombstones: [...this.#tombs.values()].sort(byKey).map((t) => ({ ...t })),
      perClient: [...this.#perClient.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
      seq: this.#seq,
      cursor: this.#cursor,
      bytes: this.#bytes,
    };
  }
}
