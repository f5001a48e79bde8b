// The legacy protocol's hold times and time-to-lives, the caps both protocols share (nodes, queue
// per client, stored bytes), their per-source shares and the door limits of a request.
import { readInts, type Env, type IntSettings } from './env.js';

export const CAP_SETTINGS = {
  // Long-poll holds: below the upstream node's and clients' 10 s request timeouts.
  sinkHoldMs: { env: 'TOKENPLACE_RELAY_SINK_HOLD_MS', fallback: 5000, min: 0, max: 9000 },
  retrieveHoldMs: { env: 'TOKENPLACE_RELAY_RETRIEVE_HOLD_MS', fallback: 5000, min: 0, max: 9000 },
  /** `next_ping_in_x_seconds` when the hold is off (upstream's constant was 10). */
  pingIntervalSeconds: { env: 'TOKENPLACE_RELAY_PING_INTERVAL_SECONDS', fallback: 10, min: 1, max: 300 },
  /** A node is dropped after this many ping intervals of silence. */
  nodeExpiryPings: { env: 'TOKENPLACE_RELAY_NODE_EXPIRY_PINGS', fallback: 3, min: 1, max: 100 },
  requestTtlSeconds: { env: 'TOKENPLACE_RELAY_REQUEST_TTL_SECONDS', fallback: 300, min: 1, max: 86_400 },
  responseTtlSeconds: { env: 'TOKENPLACE_RELAY_RESPONSE_TTL_SECONDS', fallback: 120, min: 1, max: 86_400 },
  streamTtlSeconds: { env: 'TOKENPLACE_RELAY_STREAM_TTL_SECONDS', fallback: 300, min: 1, max: 86_400 },
  maxNodes: { env: 'TOKENPLACE_RELAY_MAX_NODES', fallback: 1000, min: 1, max: 1_000_000 },
  maxQueuePerNode: { env: 'TOKENPLACE_RELAY_MAX_QUEUE_PER_NODE', fallback: 100, min: 1, max: 1_000_000 },
  maxQueuePerClient: { env: 'TOKENPLACE_RELAY_MAX_QUEUE_PER_CLIENT', fallback: 8, min: 1, max: 1_000_000 },
  maxQueuedTotal: { env: 'TOKENPLACE_RELAY_MAX_QUEUED', fallback: 10_000, min: 1, max: 10_000_000 },
  maxResponses: { env: 'TOKENPLACE_RELAY_MAX_RESPONSES', fallback: 10_000, min: 1, max: 10_000_000 },
  maxStreamSessions: { env: 'TOKENPLACE_RELAY_MAX_STREAMS', fallback: 1000, min: 1, max: 1_000_000 },
  maxStreamChunks: { env: 'TOKENPLACE_RELAY_MAX_STREAM_CHUNKS', fallback: 4096, min: 1, max: 1_000_000 },
  maxStoredBytes: { env: 'TOKENPLACE_RELAY_MAX_STORED_BYTES', fallback: 256 * 1024 * 1024, min: 1024, max: 64 * 1024 * 1024 * 1024 },
  // Per-source shares (a source = an IPv4 address or IPv6 /64). The threat model's attacker has
  // 20-50 addresses; an honest home runs a few nodes and one chat at a time. Each default lets
  // one source hold far more than an honest home needs while 50 sources together still leave
  // room under the cap (or, for bytes, stay within it at 32 sources).
  /** 8 MiB: eight full 1 MiB requests or answers in flight for one address. */
  maxStoredBytesPerSource: { env: 'TOKENPLACE_RELAY_MAX_STORED_BYTES_PER_SOURCE', fallback: 8 * 1024 * 1024, min: 1024, max: 64 * 1024 * 1024 * 1024 },
  /** 16 legacy node keys per address: 50 addresses hold at most 800 of the default 1000. */
  maxNodesPerSource: { env: 'TOKENPLACE_RELAY_MAX_NODES_PER_SOURCE', fallback: 16, min: 1, max: 1_000_000 },
  /** One address fills at most a sixth of one node's default queue of 100. */
  maxQueuePerNodePerSource: { env: 'TOKENPLACE_RELAY_MAX_QUEUE_PER_NODE_PER_SOURCE', fallback: 16, min: 1, max: 1_000_000 },
  /** 100 queued requests per address: 50 addresses hold half the default total of 10,000. */
  maxQueuedPerSource: { env: 'TOKENPLACE_RELAY_MAX_QUEUED_PER_SOURCE', fallback: 100, min: 1, max: 10_000_000 },
  /** Answers are charged to the answering node's address: a busy home node serving many clients. */
  maxResponsesPerSource: { env: 'TOKENPLACE_RELAY_MAX_RESPONSES_PER_SOURCE', fallback: 200, min: 1, max: 10_000_000 },
  /** Stream sessions are charged to the requesting client's address: one chat at a time. */
  maxStreamSessionsPerSource: { env: 'TOKENPLACE_RELAY_MAX_STREAMS_PER_SOURCE', fallback: 8, min: 1, max: 1_000_000 },
  /** Door limits for /stream/source chunks: JSON text length and nesting depth. */
  maxChunkBytes: { env: 'TOKENPLACE_RELAY_MAX_CHUNK_BYTES', fallback: 64 * 1024, min: 64, max: 64 * 1024 * 1024 },
  maxChunkDepth: { env: 'TOKENPLACE_RELAY_MAX_CHUNK_DEPTH', fallback: 32, min: 1, max: 1000 },
  maxBodyBytes: { env: 'TOKENPLACE_RELAY_MAX_BODY_BYTES', fallback: 1024 * 1024, min: 1024, max: 64 * 1024 * 1024 },
  maxKeyChars: { env: 'TOKENPLACE_RELAY_MAX_KEY_CHARS', fallback: 4096, min: 64, max: 65_536 },
  sweepIntervalMs: { env: 'TOKENPLACE_RELAY_SWEEP_INTERVAL_MS', fallback: 1000, min: 10, max: 60_000 },
} as const satisfies IntSettings;

export function readCaps(env: Env) {
  return readInts(env, CAP_SETTINGS);
}
