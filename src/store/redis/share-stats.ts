// Share usage for metrics (StoreStats.shares): one read-only script over the per-source hashes
// (keys.ts, v1-keys.ts), run beside the stats scripts so a scrape stays one store round trip.
//
// Cost per scrape is bounded: HLEN is O(1), and HVALS visits one field per source holding
// something. A field exists only while its source holds at least one unit of that cap (every
// script HDELs it at zero), so each hash has at most as many fields as its cap has units
// (maxNodes, maxQueuedTotal, ...; srcbytes at most one per stored record, itself counted by those
// caps), and metrics scrape at most every 250 ms (src/ops/metrics.ts).
import { legacyShares } from '../../protocols/legacy/limits.js';
import type { ShareCap, StoreLimits, StoreStats } from '../types.js';
import { SHARE_CAPS } from '../types.js';
import { resolveV1Limits } from '../../protocols/v1/limits.js';
import { loadLua } from './lua-loader.js';

/** The hash (under the prefix) that holds each share's per-source use. */
export const SHARE_HASHES: Readonly<Record<ShareCap, string>> = Object.freeze({
  bytes: 'srcbytes',
  legacy_nodes: 'src:nodes',
  legacy_queued: 'src:queued',
  legacy_responses: 'src:resp',
  legacy_streams: 'src:streams',
  v1_nodes: 'v1:srcn',
  v1_requests: 'v1:srcr',
});

/** The script (./lua/share-stats.lua): KEYS are shareKeys(prefix), the reply one {sources, top} per key. */
export function shareStatsLua(): string {
  return loadLua(new URL('./lua/share-stats.lua', import.meta.url));
}

/** The hashes the script reads, in SHARE_CAPS order. */
export function shareKeys(prefix: string): string[] {
  return SHARE_CAPS.map((cap) => prefix + SHARE_HASHES[cap]);
}

/** The per-source limits the scripts enforce, by cap (the same values they read from their settings). */
export function shareLimits(limits: StoreLimits): Record<ShareCap, number> {
  const legacy = legacyShares(limits);
  const v1 = resolveV1Limits(limits);
  return {
    bytes: limits.maxStoredBytesPerSource ?? limits.maxStoredBytes,
    legacy_nodes: legacy.nodes,
    legacy_queued: legacy.queued,
    legacy_responses: legacy.responses,
    legacy_streams: legacy.streams,
    v1_nodes: v1.v1MaxNodesPerSource,
    v1_requests: v1.v1MaxRequestsPerSource,
  };
}

/** The script's reply as StoreStats.shares. */
export function parseShareStats(reply: unknown, limits: Record<ShareCap, number>): StoreStats['shares'] {
  const rows = reply as [number, number][];
  const out = {} as StoreStats['shares'];
  SHARE_CAPS.forEach((cap, i) => {
    const [sources, top] = rows[i] ?? [0, 0];
    out[cap] = { sources: Number(sources), top: Number(top), share: limits[cap] };
  });
  return out;
}
