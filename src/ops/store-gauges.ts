// Gauges of the relay's state, read from the store at scrape time so that they are right on every
// replica: live nodes, queues and their oldest age, held answers and bytes, the per-source share
// usage by cap kind, and whether the store answers. Labels come from fixed sets only.
import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import { SHARE_CAPS, type RelayStore, type StoreStats } from '../store/types.js';

export function registerStoreGauges(registry: Registry, store: RelayStore, clock: Clock): void {
  // State gauges are read from the store at scrape time, so they are right on every replica.
  // One store round trip serves every gauge of a scrape (they collect concurrently).
  let pending: { at: number; stats: Promise<StoreStats | null> } | undefined;
  const statsForScrape = (): Promise<StoreStats | null> => {
    const now = Date.now();
    if (pending === undefined || now - pending.at > 250) {
      pending = { at: now, stats: store.stats(clock.now()).catch(() => null) };
    }
    return pending.stats;
  };
  const stateGauge = (name: string, help: string, read: (stats: StoreStats) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const stats = await statsForScrape();
        if (stats !== null) this.set(read(stats));
      },
    });
  };
  stateGauge('tokenplace_relay_nodes', 'Live compute nodes (seen within the node TTL or busy with claimed work).', (s) => s.nodes);
  stateGauge('tokenplace_relay_queued_requests', 'Requests waiting for a compute node.', (s) => s.queuedRequests);
  stateGauge('tokenplace_relay_oldest_queued_age_seconds', 'Age of the oldest queued request.', (s) => s.oldestQueuedAgeMs / 1000);
  stateGauge('tokenplace_relay_inflight_requests', 'Requests claimed by a node and not yet answered.', (s) => s.inflightRequests);
  stateGauge('tokenplace_relay_stored_responses', 'Responses waiting for their client.', (s) => s.responses);
  stateGauge('tokenplace_relay_stream_sessions', 'Open stream sessions.', (s) => s.streamSessions);
  stateGauge('tokenplace_relay_stored_bytes', 'Ciphertext bytes held in queued requests and responses.', (s) => s.storedBytes);
  new Gauge({
    name: 'tokenplace_relay_store_up',
    help: '1 when the state store answers.',
    registers: [registry],
    async collect() {
      this.set((await statsForScrape()) === null ? 0 : 1);
    },
  });

  // Per-source shares: labelled by cap kind only (SHARE_CAPS), never by source or key. A top
  // ratio near 1 means one source holds its whole share (refusals follow, by reason code).
  const shareGauge = (name: string, help: string, read: (use: StoreStats['shares'][keyof StoreStats['shares']]) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['cap'] as const,
      registers: [registry],
      async collect() {
        const stats = await statsForScrape();
        if (stats === null) return;
        for (const cap of SHARE_CAPS) this.set({ cap }, read(stats.shares[cap]));
      },
    });
  };
  shareGauge('tokenplace_relay_share_sources', 'Sources holding anything of a per-source share, by cap kind.', (u) => u.sources);
  shareGauge('tokenplace_relay_share_top_ratio', "The largest single source's use divided by its share (per-source limit), by cap kind.", (u) =>
    u.share > 0 ? u.top / u.share : 0,
  );

  // API v1 (labels from fixed sets only).
  stateGauge('tokenplace_compute_nodes_registered', 'Registered API v1 compute nodes.', (s) => s.v1Nodes);
  stateGauge('tokenplace_compute_nodes_healthy', 'API v1 compute nodes with a running lease or in-flight lease.', (s) => s.v1HealthyNodes);
  stateGauge('tokenplace_relay_v1_in_flight_requests', 'API v1 requests claimed by a node and not yet answered.', (s) => s.v1Inflight);
  stateGauge('tokenplace_relay_v1_stored_responses', 'API v1 answers waiting for their client.', (s) => s.v1Responses);
  stateGauge('tokenplace_relay_v1_tombstones', 'Ended API v1 requests remembered for late callers.', (s) => s.v1Tombstones);
  stateGauge('tokenplace_relay_v1_oldest_queued_age_seconds', 'Age of the oldest queued API v1 request.', (s) => s.v1OldestQueuedAgeMs / 1000);
  new Gauge({
    name: 'tokenplace_relay_queue_depth',
    help: 'Requests waiting for a compute node, by protocol.',
    labelNames: ['protocol'] as const,
    registers: [registry],
    async collect() {
      const stats = await statsForScrape();
      if (stats === null) return;
      this.set({ protocol: 'legacy' }, stats.queuedRequests);
      this.set({ protocol: 'v1' }, stats.v1Queued);
    },
  });
}
