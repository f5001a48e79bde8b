// GET /relay/diagnostics: the live nodes of both protocols (public keys and counters, never
// payloads) and the queue depth, in the shape upstream's clients read (protocol.md §E).
import type { FastifyInstance } from 'fastify';
import { PLANS } from '../limits/budgets.js';
import { capabilitiesWire } from '../protocols/v1/capabilities.js';
import type { NodeView } from '../store/types.js';

/** At most this many nodes of each protocol are listed (`truncated` says when there are more). */
const NODES_PER_PROTOCOL = 100;

function nodeWire(view: NodeView): Record<string, unknown> {
  const maxConcurrency = view.capabilities?.maxConcurrency ?? null;
  const load = view.queueDepth + view.inflight;
  return {
    server_public_key: view.key,
    protocol: view.protocol,
    age_seconds: Math.round(view.ageMs) / 1000,
    next_ping_in_x_seconds: view.leaseSeconds ?? null,
    queue_depth: view.queueDepth,
    in_flight_count: view.inflight,
    max_concurrency: maxConcurrency,
    load_score: maxConcurrency === null ? load : Math.round((load / maxConcurrency) * 1e6) / 1e6,
    capabilities: view.capabilities === undefined ? null : capabilitiesWire(view.capabilities),
  };
}

export async function diagnosticsRoutes(app: FastifyInstance): Promise<void> {
  const { config, store, clock, drain } = app.relay;
  app.get('/relay/diagnostics', { config: { name: 'relay_diagnostics', quiet: true, rateLimit: PLANS.clientAnonymous } }, async (_request, reply) => {
    const now = clock.now();
    const [listing, stats] = await Promise.all([store.listNodes(now, NODES_PER_PROTOCOL), store.stats(now)]);
    const queueDepth = stats.queuedRequests + stats.v1Queued;
    reply.header('cache-control', 'no-store');
    const v1Nodes = listing.v1.map(nodeWire);
    const all = [...listing.legacy.map(nodeWire), ...v1Nodes];
    return {
      status: drain.draining ? 'draining' : 'ok',
      draining: drain.draining,
      relay_only: true,
      upstream_health_required: config.requireUpstreamHealth,
      registered_compute_nodes: all,
      total_registered_compute_nodes: listing.legacyTotal + listing.v1Total,
      api_v1_registered_compute_nodes: v1Nodes,
      total_api_v1_registered_compute_nodes: listing.v1Total,
      legacy_registered_compute_nodes: listing.legacyTotal,
      queue_depth: queueDepth,
      truncated: all.length < listing.legacyTotal + listing.v1Total,
    };
  });
}
