// The API v1 relay protocol's settings (protocol.md §E.3): upstream's variable names where it
// has one. These are the only defaults of the v1 limits (src/protocols/v1/limits.ts derives its
// own from them).
import { DEFAULT_MODEL_CATALOGUE, parseModelCatalogue, type CatalogueModel } from '../protocols/v1/models.js';
import { ConfigError, raw, readInts, type Env, type IntSettings } from './env.js';

export const V1_SETTINGS = {
  /** Registration lease: register and poll renew it; a node that lets it lapse is evicted. */
  v1LeaseSeconds: { env: 'TOKEN_PLACE_API_V1_RELAY_SERVER_LEASE_SECONDS', fallback: 30, min: 1, max: 3600 },
  /** How long an idle poll is held open (the node's poll timeout is this + 5 s). */
  v1PollWaitSeconds: { env: 'TOKEN_PLACE_API_V1_RELAY_POLL_WAIT_SECONDS', fallback: 10, min: 0, max: 60 },
  /** In-flight accounting lease of a claimed request, renewed by control polls. */
  v1InflightLeaseSeconds: { env: 'TOKEN_PLACE_API_V1_IN_FLIGHT_TTL_SECONDS', fallback: 'v1LeaseSeconds', min: 1, max: 3600 },
  /** Absolute per-request deadline, set at admission. */
  v1RequestDeadlineSeconds: { env: 'TOKEN_PLACE_API_V1_REQUEST_DEADLINE_SECONDS', fallback: 480, min: 1, max: 3600 },
  v1ResponseTtlSeconds: { env: 'TOKENPLACE_API_V1_RESPONSE_TTL_SECONDS', fallback: 300, min: 1, max: 86_400 },
  v1TerminalTtlSeconds: { env: 'TOKENPLACE_TERMINAL_REQUEST_TTL_SECONDS', fallback: 300, min: 1, max: 86_400 },
  /** An answer handed out for the last time (ack, or a retrieve without id) stays fetchable by id this long: that reply may be lost. */
  v1AckReplaySeconds: { env: 'TOKENPLACE_API_V1_ACK_REPLAY_SECONDS', fallback: 30, min: 1, max: 300 },
  v1ControlTombstoneTtlSeconds: { env: 'TOKEN_PLACE_API_V1_CONTROL_TOMBSTONE_TTL_SECONDS', fallback: 60, min: 1, max: 300 },
  v1MaxQueuePerNode: { env: 'TOKEN_PLACE_API_V1_MAX_QUEUE_DEPTH_PER_NODE', fallback: 1024, min: 1, max: 1_000_000 },
  v1MaxRequests: { env: 'TOKENPLACE_API_V1_MAX_REQUESTS', fallback: 10_000, min: 1, max: 10_000_000 },
  v1MaxTombstones: { env: 'TOKENPLACE_API_V1_MAX_TOMBSTONES', fallback: 20_000, min: 1, max: 10_000_000 },
  // Per-source shares of the v1 caps (defaults and why: src/protocols/v1/limits.ts).
  v1MaxNodesPerSource: { env: 'TOKENPLACE_API_V1_MAX_NODES_PER_SOURCE', fallback: 16, min: 1, max: 1_000_000 },
  v1MaxQueuePerNodePerSource: { env: 'TOKENPLACE_API_V1_MAX_QUEUE_PER_NODE_PER_SOURCE', fallback: 16, min: 1, max: 1_000_000 },
  v1MaxRequestsPerSource: { env: 'TOKENPLACE_API_V1_MAX_REQUESTS_PER_SOURCE', fallback: 100, min: 1, max: 10_000_000 },
} as const satisfies IntSettings;

/** TOKENPLACE_MODEL_CATALOGUE (format: src/protocols/v1/models.ts parseModelCatalogue). */
function modelCatalogue(env: Env): readonly CatalogueModel[] {
  const value = raw(env, 'TOKENPLACE_MODEL_CATALOGUE');
  if (value === undefined) return DEFAULT_MODEL_CATALOGUE;
  try {
    return parseModelCatalogue(value);
  } catch (err) {
    throw new ConfigError('TOKENPLACE_MODEL_CATALOGUE', (err as Error).message);
  }
}

export function readV1(env: Env) {
  return {
    ...readInts(env, V1_SETTINGS),
    /** What GET /api/v1/models lists besides the models live nodes advertise. */
    modelCatalogue: modelCatalogue(env),
  };
}
