// Node selection for API v1, as a pure function over a snapshot of the live nodes so that every
// backend (memory, Redis Lua) applies the same policy. In order:
//
//  1. Rank by what the node has proved during its current registration. A node that delivered
//     an answer is "proven" (rank 0); one that polled but never answered is rank 1; one that
//     registered and never polled has nobody to hand work to yet (rank 2). The best rank with a
//     candidate that fits is used, except that every EXPLORE_EVERY-th pick goes to rank 1 when
//     it has a candidate, so a new honest node still gets its first work (and becomes proven)
//     while idle junk registrations get a bounded share, not a share per key. Rank 2 is used
//     only when nothing better fits: sending a client there is no worse than refusing it.
//     (Never-polled nodes are not dropped outright: a node's first poll may still be on its
//     way right after it registered, and its queue waits for it.)
//  2. Within that rank, the smallest context tier that can serve the request (best fit).
//  3. Among those candidates, turns between sources (in source order, after the one picked
//     last), whatever their load, so idle nodes of other sources cannot starve a busy honest
//     one: each source with a fitting node gets an equal share of picks.
//  4. Within the chosen source, the least loaded node, then round-robin among equals (in
//     registration order, after that source's node picked last).
//
// A node whose queue is full is never a candidate (admission would refuse it).
import { CONTEXT_TIER_TOKENS, type V1Capabilities, type V1NodeLoad, type V1SelectQuery, type V1Selection } from './types.js';

export const SELECTION_POLICY = 'best_fit_smallest_capable_least_loaded_v1';

/** Every EXPLORE_EVERY-th pick goes to a polled but unproven node when there is one (rank 1). */
export const EXPLORE_EVERY = 8;

export interface SelectionCandidate {
  key: string;
  /** Registration order: unique and increasing. */
  seq: number;
  /** Who registered it (addressLimitKey); absent = one anonymous source. */
  source?: string;
  /** Delivered an accepted answer during its current registration. */
  proven?: boolean;
  /** Polled at least once since registering. */
  polled?: boolean;
  capabilities: V1Capabilities;
  queueDepth: number;
  inflight: number;
}

/** What selection remembers between picks (the store keeps it; selection is a pure function). */
export interface SelectionState {
  /** Successful picks so far (the exploration turn is every EXPLORE_EVERY-th). */
  picks: number;
  /** The source picked last ('' before the first pick). */
  lastSource: string;
  /** The seq picked last among that source's nodes (0: none). */
  cursorOf: (source: string) => number;
}

export interface SelectionResult {
  selection: V1Selection;
  /** The pick to remember (absent when nothing was picked): its seq, source and the new pick count. */
  picked?: { seq: number; source: string; picks: number };
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

/** 0 proven, 1 polled, 2 registered only. */
export function rankOf(candidate: SelectionCandidate): number {
  return candidate.proven === true ? 0 : candidate.polled === true ? 1 : 2;
}

/** Which rank this pick uses: the best present, or rank 1 on an exploration turn. */
export function chooseRank(present: ReadonlySet<number>, pickNumber: number): number {
  if (pickNumber % EXPLORE_EVERY === 0 && present.has(1)) return 1;
  return Math.min(...present);
}

/**
 * `candidates` are the live (healthy) nodes. A node whose queue is at `maxQueuePerNode` is
 * capacity-limited: admission would refuse it, so it is never picked.
 */
export function selectBestFit(
  candidates: readonly SelectionCandidate[],
  query: V1SelectQuery,
  state: SelectionState,
  maxQueuePerNode: number,
): SelectionResult {
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
    return { selection: { ok: false, reason, eligibleTierCounts, capacityLimitedCount, capacityLimitedTierCounts } };
  }
  const picks = state.picks + 1;
  const rank = chooseRank(new Set(eligible.map(rankOf)), picks);
  const ranked = eligible.filter((c) => rankOf(c) === rank);
  const smallestTier = Math.min(...ranked.map((c) => CONTEXT_TIER_TOKENS[c.capabilities.contextTier]));
  const sameTier = ranked.filter((c) => CONTEXT_TIER_TOKENS[c.capabilities.contextTier] === smallestTier);
  // Turns between sources first (whatever their load), then best fit within the source.
  const sourceOf = (c: SelectionCandidate) => c.source ?? '';
  const sources = [...new Set(sameTier.map(sourceOf))].sort();
  const source = sources.find((s) => s > state.lastSource) ?? sources[0]!;
  const scored = sameTier.filter((c) => sourceOf(c) === source).map((c) => ({ c, load: loadOf(c) }));
  const best = Math.min(...scored.map((s) => s.load.loadScore));
  const tied = scored.filter((s) => s.load.loadScore === best).sort((a, b) => a.c.seq - b.c.seq);
  const after = state.cursorOf(source);
  const chosen = tied.find((s) => s.c.seq > after) ?? tied[0]!;
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
    picked: { seq: chosen.c.seq, source, picks },
  };
}
