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
//
// Every record remembers the source (addressLimitKey) that made it and charges its bytes there
// in the byte ledger MemoryStore shares with the legacy half; the node table, each node's queue
// and the request count have per-source ledgers of their own.
import { createHash } from 'node:crypto';
import { SourceLedger } from '../../core/source-ledger.js';
import type { WaiterHub } from '../../core/wake-hub.js';
import type { NodeView, ShareUse, StoreLimits } from '../../store/types.js';
import { V1_MAX_RECLAIMS, V1_RECORD_OVERHEAD, V1_TOMB_OVERHEAD, nodeBytes, resolveV1Limits, type V1Limits } from './limits.js';
import { selectBestFit, type SelectionCandidate } from './selection.js';
import {
  UNKNOWN_SOURCE,
  admissionDigest,
  endedFor,
  type V1CallOptions,
  type V1OwnerRefusal,
  v1ResponseWakeKey,
  v1WorkWakeKey,
  type V1Transitions,
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
  type V1NodeInfo,
  type V1ProgressOutcome,
  type V1RegisterOutcome,
  type V1RetrieveOutcome,
  type V1SelectQuery,
  type V1Selection,
  type V1TerminalReason,
  type V1TerminalStatus,
  type V1UnregisterOutcome,
} from './types.js';

interface NodeRec {
  key: string;
  seq: number;
  capabilities: V1Capabilities;
  digest: string;
  /** Sticky: once the node presented its credential on a poll, re-register or answer. */
  bound: boolean;
  /** Whether the node has polled since registering (a lost register reply may be re-issued). */
  polled: boolean;
  /** Delivered an accepted answer during this registration (selection ranks it first). */
  proven: boolean;
  source: string;
  bytes: number;
  leaseUntil: number;
  lastSeen: number;
  registeredAt: number;
  /** Answers delivered during this registration (diagnostics). */
  served: number;
  /** Claims dropped: in-flight lease lapsed, or the deadline passed while in flight (diagnostics). */
  failed: number;
  /** Queued requests by request id, oldest first. */
  queue: Map<string, ReqRec>;
  /** Queued requests per submitting source (the per-node queue share). */
  queueBySource: SourceLedger;
  /** Claimed requests by request id. */
  inflight: Map<string, ReqRec>;
}

interface ReqRec {
  key: string;
  clientKey: string;
  requestId: string;
  nodeKey: string;
  cancelDigest: string | null;
  /** admissionDigest of the admitted bytes: a retry with the same digest is the same request. */
  digest: string;
  /** Who submitted it: the request counts there. */
  source: string;
  /** Who its bytes are charged to: the submitter, then the answering node's source. */
  byteSource: string;
  admittedAt: number;
  deadlineAt: number;
  state: 'queued' | 'inflight' | 'held';
  /** Claimed at least once: only then may anyone answer it. */
  claimed: boolean;
  /** How often its in-flight lease lapsed and it went back to the queue. */
  lapses: number;
  /**
   * queued and in flight: the request ciphertext (kept while in flight so a lapsed claim can go
   * back to the queue); held: the response ciphertext.
   */
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
  digest: string;
  source: string;
  bytes: number;
  /** A completed request's answer, still fetchable by id for a while after it was handed out for the last time. */
  replay: Replay | null;
}

/**
 * The last hand-out of an answer (an ack, or a retrieve without id) may never reach its client
 * (a timeout, a failover): the answer stays on its tombstone, fetchable by id, until `until`.
 * Its bytes stay charged to the source that sent it.
 */
interface Replay {
  payload: V1Ciphertext;
  admittedAt: number;
  completedAt: number;
  until: number;
  byteSource: string;
  bytes: number;
}

const RECORD_OVERHEAD = V1_RECORD_OVERHEAD;
const TOMB_OVERHEAD = V1_TOMB_OVERHEAD;

// The maps are keyed by (client or node key, request id). A map key spelled out from the key
// itself would be a second, uncounted copy of a ~450-character public key in every record,
// tombstone and node tombstone; a SHA-256 of the key's UTF-16 code units (exactly the string,
// lone surrogates included, so distinct keys never share a digest) is 44 characters, and being
// fixed-length it cannot run into the request id after it.
const keyDigest = (key: string): string => createHash('sha256').update(key, 'utf16le').digest('base64');
const requestKey = (clientKey: string, requestId: string): string => `${keyDigest(clientKey)}\u0000${requestId}`;
const nodeTombKey = (nodeKey: string, requestId: string): string => `${keyDigest(nodeKey)}\u0000${requestId}`;

function cipherBytes(c: V1Ciphertext | null): number {
  return c === null ? 0 : c.ciphertext.length + c.cipherkey.length + c.iv.length;
}

function first<V>(map: Map<string, V>): V | undefined {
  return map.values().next().value;
}

/**
 * Which limit refuses `amount` more for `source`, or null. A share as large as the cap is no
 * share: going over it is going over the cap (the global code, not the share one).
 */
function overOf(ledger: SourceLedger, source: string, amount: number): 'share' | 'cap' | null {
  const check = ledger.check(source, amount);
  if (check.ok) return null;
  return check.over === 'share' && ledger.share < ledger.cap ? 'share' : 'cap';
}

const byKey = <T extends { key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export class V1Memory implements V1Transitions {
  readonly limits: V1Limits;
  readonly #nodes = new Map<string, NodeRec>();
  readonly #active = new Map<string, ReqRec>();
  readonly #held = new Map<string, ReqRec>();
  readonly #tombs = new Map<string, Tomb>();
  /** Tombstones that carry a replayable answer, in order of their replay's end (one window for all). */
  readonly #replays = new Map<string, Tomb>();
  readonly #nodeTombs = new Map<string, string>();
  readonly #perClient = new Map<string, number>();
  readonly #nodesBySource: SourceLedger;
  readonly #requestsBySource: SourceLedger;
  /** Selection: the source picked last, per source the seq picked last, and the pick count. */
  #lastSource = '';
  #picks = 0;
  readonly #sourceCursor = new Map<string, number>();
  #seq = 0;
  #cursor = 0;
  #bytes = 0;

  constructor(
    private readonly base: StoreLimits,
    private readonly hub: WaiterHub,
    /** The byte ledger both protocol halves share (one cap, one share per source). */
    private readonly ledger: SourceLedger,
  ) {
    this.limits = resolveV1Limits(base);
    this.#nodesBySource = new SourceLedger(base.maxNodes, this.limits.v1MaxNodesPerSource);
    this.#requestsBySource = new SourceLedger(this.limits.v1MaxRequests, this.limits.v1MaxRequestsPerSource);
  }

  /** Bytes the v1 half holds (its part of the shared ledger). */
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

  /** null when `source` may add `extra` bytes, else which limit refused. */
  #bytesRefusal(source: string, extra: number): 'share' | 'cap' | null {
    return overOf(this.ledger, source, extra);
  }

  #charge(holder: { bytes: number }, source: string, bytes: number): void {
    this.ledger.add(source, bytes - holder.bytes);
    this.#bytes += bytes - holder.bytes;
    holder.bytes = bytes;
  }

  #setBytes(rec: ReqRec, bytes: number): void {
    this.#charge(rec, rec.byteSource, bytes);
  }

  /**
   * The ownership rule for a node (sticky opt-in): a presented credential must be the node's,
   * and binds it; once bound, nothing for that node goes without it.
   */
  #ownerRefusal(node: NodeRec, presented: string | null | undefined): V1OwnerRefusal | null {
    if (presented !== null && presented !== undefined) {
      if (presented !== node.digest) return 'invalid_control_credential';
      node.bound = true;
      return null;
    }
    return node.bound ? 'node_credential_required' : null;
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
    this.#dropReplay(tomb);
    this.#charge(tomb, tomb.source, 0);
    if (tomb.nodeKey !== null) {
      const index = nodeTombKey(tomb.nodeKey, tomb.requestId);
      if (this.#nodeTombs.get(index) === tomb.key) this.#nodeTombs.delete(index);
    }
  }

  #dropReplay(tomb: Tomb): void {
    if (tomb.replay === null) return;
    this.#charge(tomb.replay, tomb.replay.byteSource, 0);
    tomb.replay = null;
    this.#replays.delete(tomb.key);
  }

  #bury(tomb: Tomb): void {
    const previous = this.#tombs.get(tomb.key);
    if (previous !== undefined) this.#dropTomb(previous);
    while (this.#tombs.size >= this.limits.v1MaxTombstones) {
      const oldest = first(this.#tombs);
      if (oldest === undefined) break;
      this.#dropTomb(oldest);
    }
    // Tombstones are never refused (an end cannot be), but they count: the count cap bounds them.
    this.#charge(tomb, tomb.source, TOMB_OVERHEAD + tomb.clientKey.length + tomb.requestId.length + (tomb.nodeKey?.length ?? 0));
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
    if (wasInflight && node !== undefined && (reason === 'provider_timeout' || reason === 'claimer_lost')) node.failed += 1;
    if (rec.state === 'held') {
      this.#held.delete(rec.key);
    } else {
      this.#active.delete(rec.key);
      if (node !== undefined) {
        if (node.queue.get(rec.requestId) === rec) {
          node.queue.delete(rec.requestId);
          node.queueBySource.add(rec.source, -1);
        }
        if (node.inflight.get(rec.requestId) === rec) node.inflight.delete(rec.requestId);
      }
      this.#clientDelta(rec.clientKey, -1);
      ended.push(endedFor(status, reason));
    }
    this.#requestsBySource.add(rec.source, -1);
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
      digest: rec.digest,
      source: rec.source,
      bytes: 0,
      replay: null,
    });
    this.#wakeClient(rec);
  }

  #removeNode(node: NodeRec, now: number, ended: V1Ended[]): void {
    for (const rec of [...node.queue.values(), ...node.inflight.values()]) this.#end(rec, 'cancelled', 'server_unregistered', now, ended);
    this.#nodes.delete(node.key);
    this.#nodesBySource.add(node.source, -1);
    this.#charge(node, node.source, 0);
    this.hub.notify('work', v1WorkWakeKey(node.key));
  }

  /** A claimed request whose claimer went quiet: back to the head of its node's queue. */
  #requeue(rec: ReqRec, node: NodeRec): void {
    node.inflight.delete(rec.requestId);
    const rest = [...node.queue.entries()];
    node.queue.clear();
    node.queue.set(rec.requestId, rec);
    for (const [id, other] of rest) node.queue.set(id, other);
    node.queueBySource.add(rec.source, 1);
    rec.state = 'queued';
    rec.leaseUntil = 0;
    rec.lapses += 1;
    node.failed += 1;
    rec.progress = null;
    this.#setBytes(rec, this.#recordBytes(rec, rec.payload));
    this.hub.notify('work', v1WorkWakeKey(node.key));
  }

  #recordBytes(rec: { clientKey: string; requestId: string }, ...parts: (V1Ciphertext | null)[]): number {
    return RECORD_OVERHEAD + rec.clientKey.length + rec.requestId.length + parts.reduce((sum, c) => sum + cipherBytes(c), 0);
  }

  // ------------------------------------------------------------------ nodes

  async registerNode(
    nodeKey: string,
    capabilities: V1Capabilities,
    credentialDigest: string,
    now: number,
    options: V1CallOptions = {},
  ): Promise<V1RegisterOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node !== undefined) {
      const refusal = this.#ownerRefusal(node, options.credentialDigest);
      if (refusal !== null) return { ok: false, reason: refusal };
      const bytes = nodeBytes(nodeKey, capabilities);
      // A re-register of an unbound node that never polled, from the address that registered it:
      // its first reply (with the credential) may have been lost to a timeout, so a fresh
      // credential replaces the digest. A bound or polling node keeps its credential, and
      // another address never gets one.
      const reissue = !node.bound && !node.polled && (options.source ?? UNKNOWN_SOURCE) === node.source;
      this.#charge(node, node.source, bytes);
      node.capabilities = capabilities;
      if (reissue) node.digest = credentialDigest;
      this.#renewNode(node, now);
      return { ok: true, created: false, credentialIssued: reissue };
    }
    const source = options.source ?? UNKNOWN_SOURCE;
    const share = overOf(this.#nodesBySource, source, 1);
    if (share !== null) return { ok: false, reason: share === 'share' ? 'source_node_share_exceeded' : 'relay_node_limit' };
    if (this.#nodes.size >= this.base.maxNodes) return { ok: false, reason: 'relay_node_limit' };
    const bytes = nodeBytes(nodeKey, capabilities);
    const refused = this.#bytesRefusal(source, bytes);
    if (refused !== null) return { ok: false, reason: refused === 'share' ? 'source_bytes_share_exceeded' : 'relay_node_limit' };
    this.#seq += 1;
    const rec: NodeRec = {
      key: nodeKey,
      seq: this.#seq,
      capabilities,
      digest: credentialDigest,
      bound: false,
      polled: false,
      proven: false,
      source,
      bytes: 0,
      leaseUntil: now + this.limits.v1LeaseMs,
      lastSeen: now,
      registeredAt: now,
      served: 0,
      failed: 0,
      queue: new Map(),
      queueBySource: new SourceLedger(this.limits.v1MaxQueuePerNode, this.limits.v1MaxQueuePerNodePerSource),
      inflight: new Map(),
    };
    this.#charge(rec, source, bytes);
    this.#nodesBySource.add(source, 1);
    this.#nodes.set(nodeKey, rec);
    return { ok: true, created: true, credentialIssued: true };
  }

  async renewLease(nodeKey: string, capabilities: V1Capabilities | null, now: number, holdMs: number, options: V1CallOptions = {}): Promise<V1LeaseOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node === undefined) return { ok: false, reason: 'node_not_found' };
    const refusal = this.#ownerRefusal(node, options.credentialDigest);
    if (refusal !== null) return { ok: false, reason: refusal };
    node.polled = true;
    if (capabilities !== null) {
      this.#charge(node, node.source, nodeBytes(nodeKey, capabilities));
      node.capabilities = capabilities;
    }
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
      candidates.push({
        key: node.key,
        seq: node.seq,
        source: node.source,
        proven: node.proven,
        polled: node.polled,
        capabilities: node.capabilities,
        queueDepth: node.queue.size,
        inflight: this.#liveInflight(node, now),
      });
    }
    const state = { picks: this.#picks, lastSource: this.#lastSource, cursorOf: (s: string) => this.#sourceCursor.get(s) ?? 0 };
    const { selection, picked } = selectBestFit(candidates, query, state, this.limits.v1MaxQueuePerNode);
    if (picked !== undefined) {
      const { seq, source, picks } = picked;
      this.#cursor = seq;
      this.#picks = picks;
      this.#lastSource = source;
      this.#sourceCursor.set(source, seq);
      // Bounded by the sources that still have nodes.
      if (this.#sourceCursor.size > this.#nodesBySource.sources + 1) {
        for (const s of this.#sourceCursor.keys()) if (this.#nodesBySource.used(s) === 0) this.#sourceCursor.delete(s);
      }
    }
    return selection;
  }

  // ------------------------------------------------------------------ requests

  async admitRequest(request: V1NewRequest, now: number): Promise<V1AdmitOutcome> {
    const key = requestKey(request.clientKey, request.requestId);
    const digest = admissionDigest(request);
    // A retry of an admission (same id, same bytes) is answered with the first admission, even
    // when the first reply was lost to a timeout; other bytes under a live id stay a conflict.
    const known = this.#active.get(key) ?? this.#held.get(key);
    if (known !== undefined) {
      if (known.digest !== digest) return { ok: false, reason: 'request_id_conflict' };
      return { ok: true, deadlineAt: known.deadlineAt, queueDepth: this.#nodes.get(known.nodeKey)?.queue.size ?? 0, duplicate: true };
    }
    const tomb = this.#clientTomb(key, now);
    if (tomb !== undefined) {
      if (tomb.digest !== digest || tomb.deadlineAt === null) return { ok: false, reason: 'request_id_conflict' };
      return { ok: true, deadlineAt: tomb.deadlineAt, queueDepth: 0, duplicate: true };
    }
    const node = this.#nodes.get(request.nodeKey);
    if (node === undefined || !this.#healthy(node, now)) return { ok: false, reason: 'node_not_found' };
    if (node.queue.has(request.requestId) || node.inflight.has(request.requestId)) return { ok: false, reason: 'request_id_conflict' };
    const source = request.source ?? UNKNOWN_SOURCE;
    // A requeued claim may have pushed the queue past its cap: the size is checked too.
    const queueShare = overOf(node.queueBySource, source, 1);
    if (queueShare !== null || node.queue.size >= this.limits.v1MaxQueuePerNode) {
      return { ok: false, reason: queueShare === 'share' ? 'source_queue_share_exceeded' : 'node_queue_full' };
    }
    if ((this.#perClient.get(request.clientKey) ?? 0) >= this.base.maxQueuePerClient) return { ok: false, reason: 'client_queue_full' };
    const payload: V1Ciphertext = { ciphertext: request.ciphertext, cipherkey: request.cipherkey, iv: request.iv };
    const bytes = this.#recordBytes(request, payload);
    const share = overOf(this.#requestsBySource, source, 1);
    if (share === 'share') return { ok: false, reason: 'source_request_share_exceeded' };
    if (share !== null || this.#active.size + this.#held.size >= this.limits.v1MaxRequests) return { ok: false, reason: 'relay_queue_full' };
    const refused = this.#bytesRefusal(source, bytes);
    if (refused !== null) return { ok: false, reason: refused === 'share' ? 'source_bytes_share_exceeded' : 'relay_queue_full' };
    const rec: ReqRec = {
      key,
      clientKey: request.clientKey,
      requestId: request.requestId,
      nodeKey: request.nodeKey,
      cancelDigest: request.cancelTokenDigest,
      digest,
      source,
      byteSource: source,
      admittedAt: now,
      deadlineAt: now + this.limits.v1DeadlineMs,
      state: 'queued',
      claimed: false,
      lapses: 0,
      payload,
      progress: null,
      leaseUntil: 0,
      completedAt: 0,
      heldUntil: 0,
      bytes: 0,
    };
    this.#setBytes(rec, bytes);
    node.queue.set(request.requestId, rec);
    node.queueBySource.add(source, 1);
    this.#requestsBySource.add(source, 1);
    this.#active.set(key, rec);
    this.#clientDelta(request.clientKey, 1);
    this.hub.notify('work', v1WorkWakeKey(node.key));
    return { ok: true, deadlineAt: rec.deadlineAt, queueDepth: node.queue.size };
  }

  async claimRequest(nodeKey: string, now: number, options: V1CallOptions = {}): Promise<V1ClaimOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node === undefined) return { ok: false, reason: 'node_not_found' };
    const refusal = this.#ownerRefusal(node, options.credentialDigest);
    if (refusal !== null) return { ok: false, reason: refusal };
    const ended: V1Ended[] = [];
    for (let head = first(node.queue); head !== undefined; head = first(node.queue)) {
      if (head.deadlineAt <= now) {
        this.#end(head, 'expired', 'provider_timeout', now, ended);
        continue;
      }
      const payload = head.payload!;
      node.queue.delete(head.requestId);
      node.queueBySource.add(head.source, -1);
      node.inflight.set(head.requestId, head);
      head.state = 'inflight';
      head.claimed = true;
      // The ciphertext stays (and stays counted) until the answer: a lapsed claim requeues it.
      head.leaseUntil = Math.min(now + this.limits.v1InflightLeaseMs, head.deadlineAt);
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

  async acceptResponse(clientKey: string, requestId: string, response: V1Ciphertext, now: number, options: V1CallOptions = {}): Promise<V1AcceptOutcome> {
    const key = requestKey(clientKey, requestId);
    const rec = this.#active.get(key);
    if (rec !== undefined) {
      const ended: V1Ended[] = [];
      if (rec.deadlineAt <= now) {
        this.#end(rec, 'expired', 'provider_timeout', now, ended);
        return { ok: false, reason: 'request_gone', status: 'expired', ended };
      }
      // Only the node the request was handed to may answer it: it must have been claimed (a
      // claim that lapsed back into the queue still counts: its claimer may be slow, not gone),
      // the caller must not name another node, and a bound node must prove itself.
      if (!rec.claimed) return { ok: false, reason: 'request_not_claimed' };
      const node = this.#nodes.get(rec.nodeKey);
      if (options.nodeKey !== undefined && options.nodeKey !== null && options.nodeKey !== rec.nodeKey)
        return { ok: false, reason: 'invalid_control_credential' };
      if (node !== undefined) {
        const refusal = this.#ownerRefusal(node, options.credentialDigest);
        if (refusal !== null) return { ok: false, reason: refusal };
      }
      const payload: V1Ciphertext = { ciphertext: response.ciphertext, cipherkey: response.cipherkey, iv: response.iv };
      const bytes = this.#recordBytes(rec, payload);
      const answerSource = options.source ?? rec.byteSource;
      const refused = this.#bytesRefusal(answerSource, answerSource === rec.byteSource ? bytes - rec.bytes : bytes);
      if (refused !== null) return { ok: false, reason: refused === 'share' ? 'source_bytes_share_exceeded' : 'response_store_full' };
      if (node !== undefined) {
        if (node.queue.get(requestId) === rec) {
          node.queue.delete(requestId);
          node.queueBySource.add(rec.source, -1);
        }
        if (node.inflight.get(requestId) === rec) {
          node.inflight.delete(requestId);
          // Answering is a sign of life.
          this.#renewNode(node, now);
        }
        // An accepted answer proves the node (selection ranks it first from now on).
        node.proven = true;
        node.served += 1;
      }
      this.#active.delete(key);
      this.#clientDelta(clientKey, -1);
      rec.state = 'held';
      rec.payload = payload;
      rec.progress = null;
      rec.completedAt = now;
      rec.heldUntil = now + this.limits.v1ResponseTtlMs;
      // The answer's bytes belong to whoever sent it.
      this.#setBytes(rec, 0);
      rec.byteSource = answerSource;
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

  /** The last hand-out: the record ends as completed; its answer stays replayable (Replay). */
  #popHeld(rec: ReqRec, now: number): V1RetrieveOutcome {
    const payload = rec.payload!;
    this.#held.delete(rec.key);
    this.#setBytes(rec, 0);
    rec.payload = null;
    const tomb: Tomb = {
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
      digest: rec.digest,
      source: rec.source,
      bytes: 0,
      replay: null,
    };
    this.#bury(tomb);
    const replay: Replay = {
      payload,
      admittedAt: rec.admittedAt,
      completedAt: rec.completedAt,
      until: now + this.limits.v1AckReplayMs,
      byteSource: rec.byteSource,
      bytes: 0,
    };
    this.#charge(replay, replay.byteSource, cipherBytes(payload));
    tomb.replay = replay;
    this.#replays.set(tomb.key, tomb);
    this.#requestsBySource.add(rec.source, -1);
    return {
      kind: 'response',
      response: { ...payload, clientKey: rec.clientKey, requestId: rec.requestId, admittedAt: rec.admittedAt, completedAt: rec.completedAt },
    };
  }

  #peekHeld(rec: ReqRec): V1RetrieveOutcome {
    const payload = rec.payload!;
    return {
      kind: 'response',
      response: { ...payload, clientKey: rec.clientKey, requestId: rec.requestId, admittedAt: rec.admittedAt, completedAt: rec.completedAt },
    };
  }

  async retrieveResponse(clientKey: string, requestId: string | null, now: number, options: V1CallOptions = {}): Promise<V1RetrieveOutcome> {
    // Without a request id the client cannot name what it acknowledges: the oldest answer is
    // handed over and dropped (upstream's pop).
    if (requestId === null) {
      for (const rec of this.#held.values()) {
        if (rec.clientKey === clientKey && rec.heldUntil > now) return this.#popHeld(rec, now);
      }
      return { kind: 'unknown' };
    }
    const key = requestKey(clientKey, requestId);
    const held = this.#held.get(key);
    if (held !== undefined) {
      // Repeatable: the answer stays until the client acks it or it expires.
      if (held.heldUntil > now) return options.ack === true ? this.#popHeld(held, now) : this.#peekHeld(held);
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
        rec.progress = null;
        this.#setBytes(rec, this.#recordBytes(rec, rec.payload));
      }
      return { kind: 'pending', deadlineAt: rec.deadlineAt, progress };
    }
    const tomb = this.#clientTomb(key, now);
    const replay = tomb?.replay;
    if (replay != null && replay.until > now) {
      return { kind: 'response', response: { ...replay.payload, clientKey, requestId, admittedAt: replay.admittedAt, completedAt: replay.completedAt } };
    }
    if (tomb !== undefined && tomb.status !== 'completed') return { kind: 'terminal', status: tomb.status, reason: tomb.reason as V1TerminalReason, ended: [] };
    return { kind: 'unknown' };
  }

  async cancelRequest(
    clientKey: string,
    requestId: string,
    cancelTokenDigest: string,
    status: V1TerminalStatus,
    reason: V1TerminalReason,
    now: number,
  ): Promise<V1CancelOutcome> {
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

  async recordProgress(
    nodeKey: string,
    credentialDigest: string,
    clientKey: string,
    requestId: string,
    progress: V1Ciphertext,
    now: number,
    _options: V1CallOptions = {},
  ): Promise<V1ProgressOutcome> {
    const node = this.#nodes.get(nodeKey);
    if (node === undefined || credentialDigest !== node.digest) return { ok: false, reason: 'forbidden' };
    const rec = node.inflight.get(requestId);
    if (rec === undefined || rec.clientKey !== clientKey || rec.deadlineAt <= now) return { ok: false, reason: 'not_active' };
    const record: V1Ciphertext = { ciphertext: progress.ciphertext, cipherkey: progress.cipherkey, iv: progress.iv };
    const bytes = this.#recordBytes(rec, rec.payload, record);
    const refused = this.#bytesRefusal(rec.byteSource, bytes - rec.bytes);
    if (refused !== null) return { ok: false, reason: refused === 'share' ? 'source_bytes_share_exceeded' : 'response_store_full' };
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
    for (let tomb = first(this.#replays); tomb !== undefined && tomb.replay!.until <= now; tomb = first(this.#replays)) this.#dropReplay(tomb);
    // Claims whose claimer stopped control-polling go back to the queue (or end claimer_lost),
    // before the node-eviction pass below would cancel them with their node.
    report.requeued = 0;
    for (const node of this.#nodes.values()) {
      for (const rec of [...node.inflight.values()]) {
        if (rec.leaseUntil > now) continue;
        if (rec.lapses >= V1_MAX_RECLAIMS) {
          this.#end(rec, 'expired', 'claimer_lost', now, report.ended);
        } else {
          this.#requeue(rec, node);
          report.requeued += 1;
        }
      }
    }
    const evicted: V1NodeInfo[] = [];
    for (const node of [...this.#nodes.values()]) {
      if (this.#healthy(node, now)) continue;
      evicted.push(this.#info(node));
      this.#removeNode(node, now, report.ended);
      report.evictedNodes += 1;
    }
    if (evicted.length > 0) report.evicted = evicted;
    for (let tomb = first(this.#tombs); tomb !== undefined && Math.max(tomb.clientUntil, tomb.nodeUntil) <= now; tomb = first(this.#tombs)) {
      this.#dropTomb(tomb);
      report.prunedTombstones += 1;
    }
    return report;
  }

  #info(node: NodeRec): V1NodeInfo {
    return { key: node.key, label: node.capabilities.label ?? null, source: node.source, lastSeen: node.lastSeen };
  }

  async nodeInfo(nodeKey: string): Promise<V1NodeInfo | null> {
    const node = this.#nodes.get(nodeKey);
    return node === undefined ? null : this.#info(node);
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

  /** Node and request share usage (the byte ledger is the store's, shared with legacy). */
  shareUsage(): { nodes: ShareUse; requests: ShareUse } {
    return { nodes: this.#nodesBySource.usage(), requests: this.#requestsBySource.usage() };
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
        registeredAgoMs: Math.max(0, now - node.registeredAt),
        leaseLeftMs: Math.max(0, node.leaseUntil - now),
        served: node.served,
        failed: node.failed,
      });
    }
    return { views, total };
  }

  snapshot(): unknown {
    const request = (rec: ReqRec) => ({
      ...rec,
      payload: rec.payload === null ? null : { ...rec.payload },
      progress: rec.progress === null ? null : { ...rec.progress },
    });
    return {
      nodes: [...this.#nodes.values()].sort(byKey).map((n) => ({
        ...n,
        queueBySource: n.queueBySource.top(Number.MAX_SAFE_INTEGER).sort(),
        capabilities: { ...n.capabilities, supportedModelIds: [...n.capabilities.supportedModelIds] },
        queue: [...n.queue.keys()],
        inflight: [...n.inflight.keys()].sort(),
      })),
      active: [...this.#active.values()].sort(byKey).map(request),
      held: [...this.#held.values()].sort(byKey).map(request),
      tombstones: [...this.#tombs.values()]
        .sort(byKey)
        .map((t) => ({ ...t, replay: t.replay === null ? null : { ...t.replay, payload: { ...t.replay.payload } } })),
      perClient: [...this.#perClient.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
      nodesBySource: this.#nodesBySource.top(Number.MAX_SAFE_INTEGER).sort(),
      requestsBySource: this.#requestsBySource.top(Number.MAX_SAFE_INTEGER).sort(),
      seq: this.#seq,
      cursor: this.#cursor,
      bytes: this.#bytes,
    };
  }
}
