// The in-process backend: the default, for one replica. Composes the two protocols' memory halves
// around one byte budget they share (one cap, one share per source) and one wake-up hub.
import { SourceLedger } from '../core/source-ledger.js';
import { WaiterHub } from '../core/wake-hub.js';
import { LegacyMemory } from '../protocols/legacy/memory.js';
import { V1Memory } from '../protocols/v1/memory.js';
import type { NodeListing, RelayStore, StoreHealth, StoreLimits, StoreStats, WakeChannel, Waiter } from './types.js';

export class MemoryStore implements RelayStore {
  readonly kind = 'memory' as const;
  /** The state dies with the process. */
  readonly outlivesProcess = false;
  readonly legacy: LegacyMemory;
  readonly v1: V1Memory;
  readonly #hub = new WaiterHub();
  readonly #bytes: SourceLedger;

  constructor(readonly limits: StoreLimits) {
    this.#bytes = new SourceLedger(limits.maxStoredBytes, limits.maxStoredBytesPerSource ?? limits.maxStoredBytes);
    this.legacy = new LegacyMemory(limits, this.#hub, this.#bytes);
    this.v1 = new V1Memory(limits, this.#hub, this.#bytes);
  }

  watch(channel: WakeChannel, key: string): Waiter {
    return this.#hub.watch(channel, key);
  }

  async stats(now: number): Promise<StoreStats> {
    const legacy = this.legacy.stats(now);
    const v1 = this.v1.stats(now);
    const legacyShares = this.legacy.shareUsage();
    const v1Shares = this.v1.shareUsage();
    return {
      nodes: legacy.nodes + v1.healthy,
      queuedRequests: legacy.queued,
      oldestQueuedAgeMs: legacy.oldestQueuedAgeMs,
      inflightRequests: legacy.inflight,
      responses: legacy.responses,
      streamSessions: legacy.streams,
      storedBytes: this.#bytes.total,
      v1Nodes: v1.nodes,
      v1HealthyNodes: v1.healthy,
      v1Queued: v1.queued,
      v1Inflight: v1.inflight,
      v1Responses: v1.held,
      v1Tombstones: v1.tombstones,
      v1OldestQueuedAgeMs: v1.oldestQueuedAgeMs,
      shares: {
        bytes: this.#bytes.usage(),
        legacy_nodes: legacyShares.nodes,
        legacy_queued: legacyShares.queued,
        legacy_responses: legacyShares.responses,
        legacy_streams: legacyShares.streams,
        v1_nodes: v1Shares.nodes,
        v1_requests: v1Shares.requests,
      },
    };
  }

  async listNodes(now: number, limit: number): Promise<NodeListing> {
    const legacy = this.legacy.listNodes(now, limit);
    const v1 = this.v1.listNodes(now, limit);
    return { legacy: legacy.views, v1: v1.views, legacyTotal: legacy.total, v1Total: v1.total };
  }

  async snapshot(): Promise<unknown> {
    return {
      ...(this.legacy.snapshot() as object),
      bytesBySource: this.#bytes.top(Number.MAX_SAFE_INTEGER).sort(),
      v1: this.v1.snapshot(),
    };
  }

  async health(): Promise<StoreHealth> {
    return { ok: true };
  }

  async close(): Promise<void> {}
}
