// GET /relay/diagnostics: the live nodes of both protocols (public keys and counters, never
// payloads) and the queue depth.
//
// The default answer keeps the shape upstream's clients read (protocol.md §E; upstream
// static/chat.js reads total_api_v1_registered_compute_nodes, scripts/promotion_smoke.py wants both
// lists with totals equal to their lengths, the desktop checks find nodes by
// registered_compute_nodes[].server_public_key). Upstream lists an API v1 node in both lists, so
// this answer does too; each entry also names the node by fingerprint and label.
//
// `?view=operator` lists each node once, without its key, with the detail an operator follows
// (age, last seen, lease left, served, failed). It needs the ops token (TOKENPLACE_METRICS_TOKEN,
// as /metrics) or a cluster-internal caller (TOKENPLACE_CLUSTER_INTERNAL_CIDRS).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RelayError } from '../core/errors.js';
import { keyFingerprint } from '../core/fingerprint.js';
import { AddressSet } from '../http/client-address.js';
import { makeServerTokenCheck } from '../http/server-token.js';
import { PLANS } from '../limits/budgets.js';
import { capabilitiesWire } from '../protocols/v1/capabilities.js';
import type { NodeView } from '../store/types.js';

/** At most this many nodes of each protocol are listed (`truncated` says when there are more). */
const NODES_PER_PROTOCOL = 100;

/**
 * Fingerprints of recently listed keys: the page polls this route every second, and hashing every
 * key on every poll is avoidable work. Bounded; cleared when full.
 */
const FINGERPRINT_MEMO_MAX = 4096;
const fingerprints = new Map<string, string>();

function fingerprintOf(key: string): string {
  let fp = fingerprints.get(key);
  if (fp === undefined) {
    if (fingerprints.size >= FINGERPRINT_MEMO_MAX) fingerprints.clear();
    fp = keyFingerprint(key);
    fingerprints.set(key, fp);
  }
  return fp;
}

const seconds = (ms: number | undefined): number | null => (ms === undefined ? null : Math.round(ms) / 1000);

function loadOf(view: NodeView): { max_concurrency: number | null; load_score: number } {
  const maxConcurrency = view.capabilities?.maxConcurrency ?? null;
  const load = view.queueDepth + view.inflight;
  return { max_concurrency: maxConcurrency, load_score: maxConcurrency === null ? load : Math.round((load / maxConcurrency) * 1e6) / 1e6 };
}

/** An entry of upstream's lists: its fields, then the node's fingerprint and label. */
function publicWire(view: NodeView): Record<string, unknown> {
  return {
    server_public_key: view.key,
    fingerprint: fingerprintOf(view.key),
    label: view.capabilities?.label ?? null,
    protocol: view.protocol,
    age_seconds: Math.round(view.ageMs) / 1000,
    next_ping_in_x_seconds: view.leaseSeconds ?? null,
    queue_depth: view.queueDepth,
    in_flight_count: view.inflight,
    ...loadOf(view),
    capabilities: view.capabilities === undefined ? null : capabilitiesWire(view.capabilities),
  };
}

/**
 * A node as the operator view lists it. `null` means the backend does not know it cheaply (the
 * Redis store keeps no per-node counters or registration time).
 */
function operatorWire(view: NodeView): Record<string, unknown> {
  return {
    fingerprint: fingerprintOf(view.key),
    label: view.capabilities?.label ?? null,
    protocol: view.protocol,
    age_seconds: seconds(view.registeredAgoMs),
    last_seen_seconds: Math.round(view.ageMs) / 1000,
    lease_left_seconds: seconds(view.leaseLeftMs),
    queue_depth: view.queueDepth,
    in_flight_count: view.inflight,
    served: view.served ?? null,
    failed: view.failed ?? null,
    ...loadOf(view),
    capabilities: view.capabilities === undefined ? null : capabilitiesWire(view.capabilities),
  };
}

export async function diagnosticsRoutes(app: FastifyInstance): Promise<void> {
  const { config, store, clock, drain } = app.relay;
  const internal = new AddressSet(config.clusterInternal);
  const checkToken = config.metricsToken === null ? null : makeServerTokenCheck([config.metricsToken]);

  /** Whether the caller may see the operator view; a wrong token is a 401, not the public view. */
  const operatorAllowed = (request: FastifyRequest): boolean => {
    const header = request.headers.authorization;
    if (header !== undefined && checkToken !== null) {
      try {
        checkToken(/^Bearer\s+(.+)$/i.exec(header)?.[1]);
        return true;
      } catch {
        throw new RelayError('metrics_unauthorized');
      }
    }
    return internal.hasText(request.clientAddress);
  };

  app.get('/relay/diagnostics', { config: { name: 'relay_diagnostics', quiet: true, rateLimit: PLANS.clientAnonymous } }, async (request, reply) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const operator = query.view === 'operator';
    if (operator && !operatorAllowed(request)) {
      reply.header('www-authenticate', 'Bearer');
      throw new RelayError('metrics_unauthorized');
    }
    const now = clock.now();
    const [listing, stats] = await Promise.all([store.listNodes(now, NODES_PER_PROTOCOL), store.stats(now)]);
    const queueDepth = stats.queuedRequests + stats.v1Queued;
    reply.header('cache-control', 'no-store');
    const base = {
      status: drain.draining ? 'draining' : 'ok',
      draining: drain.draining,
      relay_only: true,
      upstream_health_required: config.requireUpstreamHealth,
    };
    const total = listing.legacyTotal + listing.v1Total;
    const views = [...listing.legacy, ...listing.v1];
    if (operator) {
      return {
        ...base,
        view: 'operator',
        nodes: views.map(operatorWire),
        total_registered_compute_nodes: total,
        total_api_v1_registered_compute_nodes: listing.v1Total,
        legacy_registered_compute_nodes: listing.legacyTotal,
        queue_depth: queueDepth,
        oldest_queued_age_seconds: Math.max(stats.oldestQueuedAgeMs, stats.v1OldestQueuedAgeMs) / 1000,
        truncated: views.length < total,
      };
    }
    const v1Nodes = listing.v1.map(publicWire);
    const all = [...listing.legacy.map(publicWire), ...v1Nodes];
    return {
      ...base,
      registered_compute_nodes: all,
      total_registered_compute_nodes: total,
      api_v1_registered_compute_nodes: v1Nodes,
      total_api_v1_registered_compute_nodes: listing.v1Total,
      legacy_registered_compute_nodes: listing.legacyTotal,
      queue_depth: queueDepth,
      truncated: all.length < total,
    };
  });
}
