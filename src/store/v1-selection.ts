// Best-fit node selection for API v1, as a pure function over a snapshot of the live nodes so
// that every backend applies the same policy: the smallest context tier that can serve the
// request, then the least loaded node of that tier, then round-robin among equals (in
// registration order, starting after the node picked last).
//
// Fairness by source: when the candidates say which source registered them, the round-robin
// among equals first takes turns between sources (in source order, after the one picked last),
// then between that source's nodes (after the one picked last there). One source registering
// many idle junk nodes therefore gets one turn in as many as there are sources with a tied node,
// not one per node; an honest node is not drowned by the count of someone else's.
import { CONTEXT_TIER_TOKENS, type V1Capabilities, type V1NodeLoad, type V1SelectQuery, type V1Selection } from './v1-types.js';

export const SELECTION_POLICY = 'best_fit_smallest_capable_least_loaded_v1';

export interface SelectionCandidate {
  key: string;
  /** Registration order: unique and increasing. */
  seq: number;
  /** Who registered it (addressLimitKey); absent = one anonymous source. */
  source?: string;
  capabilities: V1Capabilities;
  queueDepth: number;
  inflight: number;
}

export interface SelectionResult {
  selection: V1Selection;
  /** The seq to remember as "picked last" (unchanged when nothing was picked). */
  cursor: number;
  /** The source picked (when the candidates carry sources). */
  source?: string;
}

export interface SourceFairness {
  lastSource: string;
  /** The seq picked last among that source's nodes (0: none). */
  cursorOf: (source: string) => number;
}

function bump(counts: Record<string, number>, tier: string): void {
  counts[tier] = (counts[tier] ?? 0) + 1;
}

export function loadOf(candidate: SelectionCandidate): V1NodeLoad {
  const maxConcurrency = Math.max(1, candidate.capabilities.maxConcurrency);
  return {
    queueDepth: candidate.queueDepth,
    inflight: candidate.inflight,
    maxConcurrency,
    loadScore: Math.round(((candidate.queueDepth + candidate.inflight) / maxConcurrency) * 1e6) / 1e6,
  };
}

/**
 * `candidates` are the live (selectable) nodes. A node whose queue is at `maxQueuePerNode` is
 * capacity-limited: admission would refuse it, so it is never picked.
 */
export function selectBestFit(candidates: readonly SelectionCandidate[], query: V1SelectQuery, cursor: number, maxQueuePerNode: number, fairness?: SourceFairness): SelectionResult {
  const wanted = CONTEXT_TIER_TOKENS[query.contextTier];
  const eligibleTierCounts: Record<string, number> = {};
  const capacityLimitedTierCounts: Record<string, number> = {};
  const eligible: SelectionCandidate[] = [];
  let capacityLimitedCount = 0;
  for (const candidate of candidates) {
    const caps = candidate.capabilities;
    const tierTokens = CONTEXT_TIER_TOKENS[caps.contextTier];
    if (tierTokens < wanted || caps.maxContextTokens < tierTokens) continue;
    if (!caps.supportedModelIds.includes(query.model)) continue;
    if (candidate.queueDepth >= maxQueuePerNode) {
      capacityLimitedCount += 1;
      bump(capacityLimitedTierCounts, caps.contextTier);
      continue;
    }
    bump(eligibleTierCounts, caps.contextTier);
    eligible.push(candidate);
  }
  if (eligible.length === 0) {
    const reason = candidates.length === 0 ? 'no_registered_compute_nodes' : capacityLimitedCount > 0 ? 'no_available_capacity' : 'no_matching_compute_node';
    return { selection: { ok: false, reason, eligibleTierCounts, capacityLimitedCount, capacityLimitedTierCounts }, cursor };
  }
  const smallestTier = Math.min(...eligible.map((c) => CONTEXT_TIER_TOKENS[c.capabilities.contextTier]));
  const sameTier = eligible.filter((c) => CONTEXT_TIER_TOKENS[c.capabilities.contextTier] === smallestTier);
  const scored = sameTier.map((c) => ({ c, load: loadOf(c) }));
  const best = Math.min(...scored.map((s) => s.load.loadScore));
  const tied = scored.filter((s) => s.load.loadScore === best).sort((a, b) => a.c.seq - b.c.seq);
  let chosen = tied.find((s) => s.c.seq > cursor) ?? tied[0]!;
  let source: string | undefined;
  if (fairness !== undefined) {
    const sources = [...new Set(tied.map((s) => s.c.source ?? ''))].sort();
    source = sources.find((s) => s > fairness.lastSource) ?? sources[0]!;
    const own = tied.filter((s) => (s.c.source ?? '') === source);
    const after = fairness.cursorOf(source);
    chosen = own.find((s) => s.c.seq > after) ?? own[0]!;
  }
  return {
    selection: {
      ok: true,
      nodeKey: chosen.c.key,
      capabilities: chosen.c.capabilities,
      load: chosen.load,
      eligibleCount: eligible.length,
      eligibleTierCounts,
      capacityLimitedTierCounts,
      spillover: smallestTier > wanted,
    },
    cursor: chosen.c.seq,
    ...(source === undefined ? {} : { source }),
  };
}
