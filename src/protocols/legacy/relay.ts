// The legacy relay protocol (/next_server /faucet /sink /source /retrieve /stream/*) as plain
// domain logic: no HTTP, an injected clock, state behind the store. Routes map HTTP onto this.
import type { Clock } from '../../core/clock.js';
import type { CallerSignal } from '../../core/caller-signal.js';
import { RelayError } from '../../core/errors.js';
import type { ClaimedRequest, EncryptedResponse, QueuedRequest, RelayStore, StoredResponse, StreamBatch, WakeChannel } from '../../store/types.js';
import { holdUntil } from '../../core/hold.js';
import type { RelayObserver } from '../../core/observer.js';
import { keyFingerprint } from '../../core/fingerprint.js';

export interface LegacyRelayOptions {
  /** How long an idle /sink is held open waiting for work (0 = answer at once). */
  sinkHoldMs: number;
  /** How long an empty /retrieve is held open waiting for the response (0 = answer at once). */
  retrieveHoldMs: number;
  /** `next_ping_in_x_seconds` when the sink hold is off. */
  pingIntervalSeconds: number;
}

export interface SinkResult {
  items: ClaimedRequest[];
  nextPingSeconds: number;
}

/** While draining, nodes are told to come back in a second rather than at once. */
const DRAINING_PING_SECONDS = 1;

export class LegacyRelay {
  constructor(
    private readonly store: RelayStore,
    private readonly clock: Clock,
    private readonly options: LegacyRelayOptions,
    private readonly observer: RelayObserver,
    /** Aborted when the process starts draining: held polls answer at once. */
    private readonly drainSignal: AbortSignal,
  ) {}

  async nextServer(): Promise<string | null> {
    return this.store.legacy.pickNode(this.clock.now());
  }

  /**
   * Queues a request. While draining a memory-store relay the queue dies with the process, so a
   * submission is refused (relay_draining) rather than accepted and dropped; a shared (Redis)
   * store outlives this replica, so it keeps accepting.
   */
  async faucet(serverKey: string, request: QueuedRequest, source: string): Promise<void> {
    if (this.drainSignal.aborted && !this.store.outlivesProcess) throw this.#reject('relay_draining');
    const outcome = await this.store.legacy.enqueue(serverKey, request, this.clock.now(), source);
    if (!outcome.ok) throw this.#reject(outcome.reason);
  }

  /**
   * Heartbeat plus claim. Holds the poll open until work arrives, the hold passes, the node
   * goes away (signal) or the relay drains. Never claims work for a node that has gone away.
   */
  async sink(nodeKey: string, maxBatch: number, signal: CallerSignal, source: string): Promise<SinkResult> {
    const before = this.store.legacy.nodeInfo === undefined ? null : await this.store.legacy.nodeInfo(nodeKey);
    const seenAt = this.clock.now();
    const registered = await this.store.legacy.register(nodeKey, seenAt, source);
    if (!registered.ok) throw this.#reject(registered.reason);
    this.#lifecycle(registered.created, before, nodeKey, source, seenAt);
    const items = await this.#holdFor('work', nodeKey, this.options.sinkHoldMs, signal, async () => {
      const claimed = await this.store.legacy.claim(nodeKey, maxBatch, this.clock.now());
      return claimed.length > 0 ? claimed : null;
    });
    const now = this.clock.now();
    for (const item of items ?? []) this.observer.pickedUp(now - item.enqueuedAt);
    const nextPingSeconds = this.drainSignal.aborted ? DRAINING_PING_SECONDS : this.options.sinkHoldMs > 0 ? 0 : this.options.pingIntervalSeconds;
    return { items: items ?? [], nextPingSeconds };
  }

  async source(clientKey: string, response: EncryptedResponse, source: string): Promise<void> {
    const outcome = await this.store.legacy.complete(clientKey, response, this.clock.now(), source);
    if (!outcome.ok) throw this.#reject(outcome.reason);
  }

  async retrieve(clientKey: string, signal: CallerSignal): Promise<StoredResponse | null> {
    const found = await this.#holdFor('response', clientKey, this.options.retrieveHoldMs, signal, () =>
      this.store.legacy.retrieve(clientKey, this.clock.now()),
    );
    if (found?.requestEnqueuedAt != null) this.observer.turnaround(this.clock.now() - found.requestEnqueuedAt);
    return found;
  }

  /** `chunk` is the chunk's JSON text, already bounded at the door (legacy-chunk.ts). */
  async streamSource(sessionId: string, chunk: string, final: boolean, source: string): Promise<void> {
    const outcome = await this.store.legacy.appendChunk(sessionId, chunk, final, this.clock.now(), source);
    if (!outcome.ok) throw this.#reject(outcome.reason);
  }

  async streamRetrieve(clientKey: string): Promise<StreamBatch | null> {
    return this.store.legacy.drainStream(clientKey, this.clock.now());
  }

  /** One expiry pass over the legacy state; returns how many entries went (for the memory reclaim). */
  async sweep(): Promise<number> {
    const counts = await this.store.legacy.expire(this.clock.now());
    this.observer.expired(counts);
    // Which nodes, where the backend says; otherwise how many (Redis reports counts).
    for (const node of counts.expiredNodes ?? []) {
      this.observer.node({
        event: 'expired',
        reason: 'silent',
        protocol: 'legacy',
        fingerprint: keyFingerprint(node.key),
        label: null,
        source: node.source,
        count: 1,
      });
    }
    if (counts.expiredNodes === undefined && counts.nodes > 0) {
      this.observer.node({ event: 'expired', reason: 'silent', protocol: 'legacy', fingerprint: null, label: null, source: null, count: counts.nodes });
    }
    return counts.nodes + counts.requests + counts.responses + counts.streams;
  }

  /**
   * A new node, or a known one back after a silence of more than half the node TTL (it was close
   * to expiring), is worth a log line; a routine /sink is not. Legacy nodes have no label.
   */
  #lifecycle(created: boolean, before: { source: string; lastSeen: number } | null, nodeKey: string, source: string, now: number): void {
    const base = { protocol: 'legacy', fingerprint: keyFingerprint(nodeKey), label: null, count: 1 } as const;
    if (created) {
      this.observer.node({ ...base, event: 'registered', source });
      return;
    }
    if (before === null) return;
    const silentMs = now - before.lastSeen;
    if (silentMs > this.store.limits.nodeTtlMs / 2) this.observer.node({ ...base, event: 'renewed', source: before.source, silentMs });
  }

  #holdFor<T>(channel: WakeChannel, key: string, holdMs: number, signal: CallerSignal, attempt: () => Promise<T | null>): Promise<T | null> {
    return holdUntil({ store: this.store, channel, key, holdMs, signal, drainSignal: this.drainSignal, attempt, settled: (value) => value !== null });
  }

  #reject(reason: ConstructorParameters<typeof RelayError>[0]): RelayError {
    this.observer.rejected(reason);
    return new RelayError(reason);
  }
}
