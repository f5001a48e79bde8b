// The API v1 relay protocol (protocol.md §E.3) as plain domain logic: no HTTP, an injected
// clock, all state behind the store. Compute nodes hold a lease and long-poll for work; clients
// admit encrypted requests with an absolute deadline and fetch the encrypted answer by request
// id; the owner of a request learns about cancellation on its control poll. Routes
// (src/protocols/v1/routes.ts) only parse bodies and map results onto HTTP.
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import type { CallerSignal } from '../../core/caller-signal.js';
import { RelayError, type ErrorCode } from '../../core/errors.js';
import type { RelayStore, WakeChannel } from '../../store/types.js';
import {
  V1_TERMINAL_REASONS,
  isContextTier,
  v1ResponseWakeKey,
  v1WorkWakeKey,
  type V1CallOptions,
  type V1Capabilities,
  type V1Ciphertext,
  type V1ClaimedRequest,
  type V1Ended,
  type V1NodeLoad,
  type V1StoredResponse,
  type V1TerminalReason,
  type V1TerminalStatus,
  type V1NodeInfo,
} from './types.js';
import { SELECTION_POLICY } from './selection.js';
import { DEFAULT_CONTEXT_TIER, DEFAULT_MODEL_ID, normaliseCapabilities, normaliseNodeLabel, resolveModelId, withLabel } from './capabilities.js';
import { holdUntil } from '../../core/hold.js';
import { keyFingerprint } from '../../core/fingerprint.js';
import type { NodeEvent } from '../../core/observer.js';
import type { ControlState, V1Observer } from './observer.js';

export { API_V1_PROTOCOL } from './wire.js';

export interface V1RelayOptions {
  leaseSeconds: number;
  /** How long an idle poll is held (0 = answer at once and pace the node by its lease). */
  pollWaitSeconds: number;
  inflightLeaseSeconds: number;
  /** How long a pending retrieve is held waiting for news (0 = answer at once). */
  retrieveHoldMs: number;
}

export interface RegisterResult {
  leaseSeconds: number;
  pollWaitSeconds: number;
  /** Only on first registration: the node's owner proof, never shown again. */
  credential: string | null;
}

export interface PollResult {
  work: (V1ClaimedRequest & { deadlineRemainingSeconds: number }) | null;
  nextPingSeconds: number;
  pollWaitSeconds: number;
}

export type ControlStatus = 'active' | V1TerminalStatus | 'completed/unavailable';

export interface ControlResult {
  status: ControlStatus;
  nextPollSeconds: number;
  deadlineRemainingSeconds: number | null;
}

export type RetrieveResult =
  { kind: 'response'; response: V1StoredResponse } | { kind: 'pending'; deadlineRemainingSeconds: number; progress: V1Ciphertext | null };

export interface NextResult {
  nodeKey: string;
  requestedModel: string;
  resolvedModel: string;
  requestedContextTier: string;
  capabilities: V1Capabilities;
  load: V1NodeLoad;
  eligibleCount: number;
  eligibleTierCounts: Record<string, number>;
  spillover: boolean;
}

export interface NewRequestInput extends V1Ciphertext {
  nodeKey: string;
  clientKey: string;
  requestId: string;
  cancelToken: string | null;
}

/** While draining, nodes are told to come back in a second rather than hold a poll open. */
const DRAINING_PING_SECONDS = 1;
/**
 * With the memory store, work still queued when the process exits is lost: a draining relay
 * calls nodes back sooner so they empty their queues within the drain linger.
 */
const DRAINING_MEMORY_PING_SECONDS = 0.25;
/** Upstream bounds the control-poll hint to 1..10 s. */
const CONTROL_POLL_MAX_SECONDS = 10;

/** What a node call carries besides its key: the credential it presented, and its address. */
export interface NodeProof {
  credential?: string | null;
  source?: string;
}

function callOptions(proof: NodeProof): V1CallOptions {
  const options: V1CallOptions = { credentialDigest: proof.credential === null || proof.credential === undefined ? null : sha256Hex(proof.credential) };
  if (proof.source !== undefined) options.source = proof.source;
  return options;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function secondsUntil(at: number, now: number): number {
  return Math.max(0, at - now) / 1000;
}

export class V1Relay {
  constructor(
    private readonly store: RelayStore,
    private readonly clock: Clock,
    private readonly options: V1RelayOptions,
    private readonly observer: V1Observer,
    /** Aborted when the process starts draining: held polls answer at once. */
    private readonly drainSignal: AbortSignal,
  ) {}

  // ------------------------------------------------------------------ compute nodes

  /**
   * `rawLabel` is the node's `node_label` (src/protocols/v1/capabilities.ts normaliseNodeLabel): it
   * is stored with the capabilities, so a later poll that sends capabilities replaces it too.
   */
  async register(nodeKey: string, rawCapabilities: unknown, proof: NodeProof = {}, rawLabel?: unknown): Promise<RegisterResult> {
    const label = normaliseNodeLabel(rawLabel);
    const capabilities = withLabel(normaliseCapabilities(rawCapabilities), label);
    const credential = randomBytes(32).toString('base64url');
    const before = await this.#nodeInfo(nodeKey);
    const now = this.clock.now();
    const outcome = await this.store.v1.registerNode(nodeKey, capabilities, sha256Hex(credential), now, callOptions(proof));
    if (!outcome.ok) throw this.#reject(outcome.reason);
    if (outcome.created) this.#nodeEvent({ event: 'registered' }, nodeKey, label ?? null, proof.source ?? null);
    else this.#renewed(before, nodeKey, label ?? before?.label ?? null, now);
    return { leaseSeconds: this.options.leaseSeconds, pollWaitSeconds: this.options.pollWaitSeconds, credential: outcome.credentialIssued ? credential : null };
  }

  /**
   * Renews the lease, then claims the oldest queued request, holding the poll open up to the
   * poll wait for one to arrive. Never claims for a node whose connection has gone (signal).
   * Work answers say "poll again now" (next_ping_in_x_seconds 0).
   */
  async poll(nodeKey: string, rawCapabilities: unknown, signal: CallerSignal, proof: NodeProof = {}, rawLabel?: unknown): Promise<PollResult> {
    // A label travels with capabilities: without them the stored ones (label included) stay.
    const label = normaliseNodeLabel(rawLabel);
    const capabilities = rawCapabilities === undefined || rawCapabilities === null ? null : withLabel(normaliseCapabilities(rawCapabilities), label);
    const holdMs = this.drainSignal.aborted ? 0 : this.options.pollWaitSeconds * 1000;
    const options = callOptions(proof);
    const before = await this.#nodeInfo(nodeKey);
    const renewedAt = this.clock.now();
    const lease = await this.store.v1.renewLease(nodeKey, capabilities, renewedAt, holdMs, options);
    if (!lease.ok) throw this.#reject(lease.reason);
    this.#renewed(before, nodeKey, capabilities === null ? (before?.label ?? null) : (label ?? null), renewedAt);
    const work = await this.#hold(
      'work',
      v1WorkWakeKey(nodeKey),
      holdMs,
      signal,
      async () => {
        const now = this.clock.now();
        // The claim re-checks ownership: the node may have bound itself while this poll waited.
        const claimed = await this.store.v1.claimRequest(nodeKey, now, options);
        if (!claimed.ok) throw this.#reject(claimed.reason); // unregistered or evicted meanwhile
        this.#ended(claimed.ended);
        if (claimed.request !== null) this.observer.pickedUp(now - claimed.request.admittedAt);
        return claimed.request;
      },
      (request) => request !== null,
    );
    const pollWaitSeconds = this.options.pollWaitSeconds;
    if (work !== null) {
      return { work: { ...work, deadlineRemainingSeconds: secondsUntil(work.deadlineAt, this.clock.now()) }, nextPingSeconds: 0, pollWaitSeconds };
    }
    const draining = !this.store.outlivesProcess ? DRAINING_MEMORY_PING_SECONDS : DRAINING_PING_SECONDS;
    const nextPingSeconds = this.drainSignal.aborted ? draining : pollWaitSeconds > 0 ? 0 : this.options.leaseSeconds;
    return { work: null, nextPingSeconds, pollWaitSeconds };
  }

  async control(nodeKey: string, requestId: string, credential: string | null, acknowledge: boolean): Promise<ControlResult> {
    const now = this.clock.now();
    const outcome = await this.store.v1.renewInflight(nodeKey, requestId, credential === null ? null : sha256Hex(credential), acknowledge, now);
    const basePoll = Math.max(1, Math.min(this.options.pollWaitSeconds, CONTROL_POLL_MAX_SECONDS));
    if (!outcome.ok) {
      this.observer.controlPoll('forbidden');
      throw this.#reject('invalid_control_credential');
    }
    if (outcome.status === 'active') {
      this.observer.controlPoll('active');
      this.observer.inflightLeaseRenewed();
      return {
        status: 'active',
        nextPollSeconds: Math.max(1, Math.min(basePoll, this.options.inflightLeaseSeconds / 2)),
        deadlineRemainingSeconds: secondsUntil(outcome.deadlineAt, now),
      };
    }
    if (outcome.status === 'unavailable') {
      this.observer.controlPoll('completed_unavailable');
      return { status: 'completed/unavailable', nextPollSeconds: basePoll, deadlineRemainingSeconds: null };
    }
    this.#ended(outcome.ended);
    this.observer.controlPoll(outcome.acknowledged ? 'acknowledged' : (outcome.status satisfies ControlState));
    return {
      status: outcome.status,
      nextPollSeconds: basePoll,
      deadlineRemainingSeconds: outcome.deadlineAt === null ? null : secondsUntil(outcome.deadlineAt, now),
    };
  }

  async respond(
    clientKey: string,
    requestId: string,
    response: V1Ciphertext,
    proof: NodeProof & { nodeKey?: string | null } = {},
  ): Promise<{ duplicate: boolean }> {
    const outcome = await this.store.v1.acceptResponse(clientKey, requestId, response, this.clock.now(), {
      ...callOptions(proof),
      nodeKey: proof.nodeKey ?? null,
    });
    if (!outcome.ok) {
      if (outcome.reason !== 'request_gone') throw this.#reject(outcome.reason);
      this.#ended(outcome.ended);
      throw this.#gone(outcome.status);
    }
    this.#ended(outcome.ended);
    return { duplicate: outcome.duplicate };
  }

  async progress(
    nodeKey: string,
    credential: string,
    clientKey: string,
    requestId: string,
    record: V1Ciphertext,
    source?: string,
  ): Promise<{ replaced: boolean }> {
    const outcome = await this.store.v1.recordProgress(
      nodeKey,
      sha256Hex(credential),
      clientKey,
      requestId,
      record,
      this.clock.now(),
      source === undefined ? {} : { source },
    );
    if (outcome.ok) return { replaced: outcome.replaced };
    if (outcome.reason === 'forbidden') throw this.#reject('invalid_control_credential');
    if (outcome.reason === 'not_active') throw this.#reject('progress_not_active');
    throw this.#reject(outcome.reason);
  }

  /** `source`: the caller's address, logged when the backend does not remember the node's own. */
  async unregister(nodeKey: string, credential: string | null, source?: string): Promise<{ removed: boolean }> {
    const before = await this.#nodeInfo(nodeKey);
    const outcome = await this.store.v1.unregisterNode(nodeKey, credential === null ? null : sha256Hex(credential), this.clock.now());
    if (!outcome.ok) throw this.#reject('invalid_control_credential');
    this.#ended(outcome.ended);
    if (outcome.removed) {
      this.observer.evicted('unregistered', 1);
      this.#nodeEvent({ event: 'unregistered' }, nodeKey, before?.label ?? null, before?.source ?? source ?? null);
    }
    return { removed: outcome.removed };
  }

  // ------------------------------------------------------------------ clients

  async next(rawModel: string | undefined, rawTier: string | undefined): Promise<NextResult> {
    const requestedModel = rawModel !== undefined && rawModel.trim() !== '' ? rawModel : DEFAULT_MODEL_ID;
    const requestedContextTier = rawTier !== undefined && rawTier.trim() !== '' ? rawTier.trim() : DEFAULT_CONTEXT_TIER;
    if (!isContextTier(requestedContextTier)) throw this.#reject('invalid_context_tier', { field: 'context_tier' });
    const resolvedModel = resolveModelId(requestedModel);
    const selection = await this.store.v1.selectNode({ model: resolvedModel, contextTier: requestedContextTier }, this.clock.now());
    if (!selection.ok) {
      const extra: Record<string, unknown> = {};
      if (selection.reason !== 'no_registered_compute_nodes') {
        Object.assign(extra, {
          selection_policy: SELECTION_POLICY,
          requested_context_tier: requestedContextTier,
          requested_model: requestedModel,
          eligible_node_count: 0,
          eligible_tier_counts: selection.eligibleTierCounts,
        });
        if (selection.reason === 'no_available_capacity') {
          Object.assign(extra, {
            capacity_limited_node_count: selection.capacityLimitedCount,
            capacity_limited_tier_counts: selection.capacityLimitedTierCounts,
          });
        }
      }
      throw this.#reject(selection.reason, { extra });
    }
    return {
      nodeKey: selection.nodeKey,
      requestedModel,
      resolvedModel,
      requestedContextTier,
      capabilities: selection.capabilities,
      load: selection.load,
      eligibleCount: selection.eligibleCount,
      eligibleTierCounts: selection.eligibleTierCounts,
      spillover: selection.spillover,
    };
  }

  /**
   * Queues the request; returns the seconds left until its absolute deadline. A retry of the
   * same admission (same id, same bytes) answers the first one. A draining memory-store relay
   * refuses new work (relay_draining): it would be lost with the process. With Redis the work
   * survives the replica, so a draining replica still admits.
   */
  async admit(input: NewRequestInput, source?: string): Promise<{ deadlineRemainingSeconds: number; duplicate: boolean }> {
    if (this.drainSignal.aborted && !this.store.outlivesProcess) throw this.#reject('relay_draining');
    const now = this.clock.now();
    const outcome = await this.store.v1.admitRequest(
      {
        ...(source === undefined ? {} : { source }),
        nodeKey: input.nodeKey,
        clientKey: input.clientKey,
        requestId: input.requestId,
        cancelTokenDigest: input.cancelToken === null ? null : sha256Hex(input.cancelToken),
        ciphertext: input.ciphertext,
        cipherkey: input.cipherkey,
        iv: input.iv,
      },
      now,
    );
    if (!outcome.ok) throw this.#reject(outcome.reason);
    return { deadlineRemainingSeconds: secondsUntil(outcome.deadlineAt, now), duplicate: outcome.duplicate === true };
  }

  /**
   * The answer (popped), or pending with the latest progress record. A pending fetch of a known
   * request id is held until there is news (answer, progress, an end) or the hold passes.
   * Ended requests are a 410 naming why; unknown ones a 404.
   */
  async retrieve(clientKey: string, requestId: string | null, signal: CallerSignal, ack = false): Promise<RetrieveResult> {
    const holdMs = requestId === null ? 0 : this.options.retrieveHoldMs;
    const key = requestId === null ? '' : v1ResponseWakeKey(clientKey, requestId);
    const outcome = await this.#hold(
      'response',
      key,
      holdMs,
      signal,
      () => this.store.v1.retrieveResponse(clientKey, requestId, this.clock.now(), { ack }),
      (o) => o.kind !== 'pending' || o.progress !== null,
    );
    const now = this.clock.now();
    switch (outcome.kind) {
      case 'response':
        this.observer.turnaround(now - outcome.response.admittedAt);
        return outcome;
      case 'pending':
        return { kind: 'pending', deadlineRemainingSeconds: secondsUntil(outcome.deadlineAt, now), progress: outcome.progress };
      case 'terminal':
        this.#ended(outcome.ended);
        throw this.#gone(outcome.status, outcome.reason, `Request ${outcome.status}`);
      default:
        throw requestId === null ? new RelayError('no_response_available') : new RelayError('unknown_request');
    }
  }

  async cancel(
    clientKey: string,
    requestId: string,
    cancelToken: string | null,
    rawStatus: unknown,
    rawReason: unknown,
  ): Promise<{ status: V1TerminalStatus; removedFromQueue: number }> {
    if (cancelToken === null) throw this.#reject('invalid_cancel_token');
    const status: V1TerminalStatus = rawStatus === 'expired' ? 'expired' : 'cancelled';
    const reason: V1TerminalReason = (V1_TERMINAL_REASONS as readonly unknown[]).includes(rawReason) ? (rawReason as V1TerminalReason) : status;
    const outcome = await this.store.v1.cancelRequest(clientKey, requestId, sha256Hex(cancelToken), status, reason, this.clock.now());
    if (!outcome.ok) throw this.#reject('invalid_cancel_token');
    this.#ended(outcome.ended);
    return { status: outcome.status, removedFromQueue: outcome.removedFromQueue };
  }

  // ------------------------------------------------------------------ operations

  /** One expiry pass over the v1 state; returns how many entries went (for the memory reclaim). */
  async sweep(): Promise<number> {
    const report = await this.store.v1.expire(this.clock.now());
    this.#ended(report.ended);
    if (report.evictedNodes > 0) {
      this.observer.evicted('stale_lease', report.evictedNodes);
      // Which nodes, where the backend says; otherwise how many (Redis reports counts).
      for (const node of report.evicted ?? []) this.#nodeEvent({ event: 'evicted', reason: 'stale_lease' }, node.key, node.label, node.source);
      if (report.evicted === undefined)
        this.observer.node({
          event: 'evicted',
          reason: 'stale_lease',
          protocol: 'v1',
          fingerprint: null,
          label: null,
          source: null,
          count: report.evictedNodes,
        });
    }
    return report.ended.length + report.evictedNodes + report.expiredResponses + report.prunedTombstones;
  }

  // ------------------------------------------------------------------ helpers

  /** The node as the backend knows it before a transition, if it can say (memory). */
  async #nodeInfo(nodeKey: string): Promise<V1NodeInfo | null> {
    return this.store.v1.nodeInfo === undefined ? null : this.store.v1.nodeInfo(nodeKey);
  }

  /**
   * A known node heard from after a silence of more than half its lease (it was close to being
   * evicted): worth a log line. Routine re-registers and polls are not.
   */
  #renewed(before: V1NodeInfo | null, nodeKey: string, label: string | null, now: number): void {
    if (before === null) return;
    const silentMs = now - before.lastSeen;
    if (silentMs > (this.options.leaseSeconds * 1000) / 2) this.#nodeEvent({ event: 'renewed', silentMs }, nodeKey, label, before.source);
  }

  #nodeEvent(event: Pick<NodeEvent, 'event' | 'reason' | 'silentMs'>, nodeKey: string, label: string | null, source: string | null): void {
    this.observer.node({ ...event, protocol: 'v1', fingerprint: keyFingerprint(nodeKey), label, source, count: 1 });
  }

  #ended(events: readonly V1Ended[]): void {
    for (const event of events) this.observer.ended(event);
  }

  #gone(status: string, reason?: string, message?: string): RelayError {
    this.observer.rejected('request_gone');
    const extra: Record<string, unknown> = { code: status, status };
    if (reason !== undefined) extra.reason = reason;
    return new RelayError('request_gone', { message, extra });
  }

  #reject(code: ErrorCode, options: { field?: string; extra?: Record<string, unknown> } = {}): RelayError {
    this.observer.rejected(code);
    return new RelayError(code, options);
  }

  #hold<T>(channel: WakeChannel, key: string, holdMs: number, signal: CallerSignal, attempt: () => Promise<T>, settled: (value: T) => boolean): Promise<T> {
    return holdUntil({ store: this.store, channel, key, holdMs, signal, drainSignal: this.drainSignal, attempt, settled });
  }
}
