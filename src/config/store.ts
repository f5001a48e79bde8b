// Where the relay keeps its state: the backend (src/store/registry.ts) and how to reach Redis.
import { BACKEND_KINDS } from '../store/types.js';
import { bool, ConfigError, oneOf, port, raw, readInts, url, type Env, type IntSettings } from './env.js';

export const STORE_SETTINGS = {
  /** Redis store: give up on a connection attempt / a command after this long (fail fast, 503). */
  redisConnectTimeoutMs: { env: 'TOKENPLACE_REDIS_CONNECT_TIMEOUT_MS', fallback: 2000, min: 100, max: 60_000 },
  redisCommandTimeoutMs: { env: 'TOKENPLACE_REDIS_COMMAND_TIMEOUT_MS', fallback: 2000, min: 100, max: 60_000 },
  /** v1 admission and answer wait for this many replicas to acknowledge (WAIT); 0 = off. */
  redisWaitReplicas: { env: 'TOKENPLACE_REDIS_WAIT_REPLICAS', fallback: 0, min: 0, max: 16 },
  redisWaitTimeoutMs: { env: 'TOKENPLACE_REDIS_WAIT_TIMEOUT_MS', fallback: 100, min: 1, max: 5000 },
} as const satisfies IntSettings;

/** "host:port,host:port" (Sentinel addresses, Cluster seed nodes), or null when unset. */
function endpoints(env: Env, name: string): readonly Readonly<{ host: string; port: number }>[] | null {
  const value = raw(env, name);
  if (value === undefined) return null;
  const out = value.split(',').map((part) => {
    const entry = part.trim();
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(entry);
    if (match === null) throw new ConfigError(name, `must be a comma-separated list of host:port, got ${JSON.stringify(entry)}`);
    return Object.freeze({ host: match[1]!.replace(/^\[|\]$/g, ''), port: port(name, match[2]!) });
  });
  if (out.length > 32) throw new ConfigError(name, 'at most 32 addresses');
  return Object.freeze(out);
}

export function readStore(env: Env) {
  const store = oneOf(env, 'TOKENPLACE_RELAY_STORE', 'memory', BACKEND_KINDS);
  const redisUrlRaw = raw(env, 'TOKENPLACE_REDIS_URL');
  const redisUrl = redisUrlRaw === undefined ? null : url('TOKENPLACE_REDIS_URL', redisUrlRaw, ['redis', 'rediss']).toString();
  // Exactly one way to reach Redis: a URL (one server), Sentinel addresses, or Cluster seed nodes.
  const redisSentinels = endpoints(env, 'TOKENPLACE_REDIS_SENTINELS');
  const redisClusterNodes = endpoints(env, 'TOKENPLACE_REDIS_CLUSTER_NODES');
  const redisModes = [redisUrl !== null, redisSentinels !== null, redisClusterNodes !== null].filter(Boolean).length;
  if (redisModes > 1) {
    throw new ConfigError(
      redisSentinels !== null ? 'TOKENPLACE_REDIS_SENTINELS' : 'TOKENPLACE_REDIS_CLUSTER_NODES',
      'set only one of TOKENPLACE_REDIS_URL, TOKENPLACE_REDIS_SENTINELS, TOKENPLACE_REDIS_CLUSTER_NODES',
    );
  }
  if (store === 'redis' && redisModes === 0) {
    throw new ConfigError(
      'TOKENPLACE_REDIS_URL',
      'is required when TOKENPLACE_RELAY_STORE=redis (or TOKENPLACE_REDIS_SENTINELS, or TOKENPLACE_REDIS_CLUSTER_NODES)',
    );
  }
  const redisMode = redisSentinels !== null ? 'sentinel' : redisClusterNodes !== null ? 'cluster' : 'standalone';
  const redisSentinelMaster = raw(env, 'TOKENPLACE_REDIS_SENTINEL_MASTER') ?? 'mymaster';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(redisSentinelMaster)) throw new ConfigError('TOKENPLACE_REDIS_SENTINEL_MASTER', 'must be 1-64 of [A-Za-z0-9._-]');
  const ints = readInts(env, STORE_SETTINGS);
  if (ints.redisWaitReplicas > 0 && redisMode === 'cluster') {
    // WAIT must reach the primary that took the write; the store does not route it per slot.
    throw new ConfigError('TOKENPLACE_REDIS_WAIT_REPLICAS', 'is for TOKENPLACE_REDIS_URL or TOKENPLACE_REDIS_SENTINELS, not Cluster');
  }
  return {
    store,
    redisUrl,
    redisPassword: raw(env, 'TOKENPLACE_REDIS_PASSWORD') ?? null,
    redisPrefix: raw(env, 'TOKENPLACE_REDIS_PREFIX') ?? 'tokenplace:relay:v1:',
    /** standalone (TOKENPLACE_REDIS_URL), sentinel or cluster: whichever variable is set. */
    redisMode: redisMode,
    redisSentinels,
    redisSentinelMaster,
    redisSentinelPassword: raw(env, 'TOKENPLACE_REDIS_SENTINEL_PASSWORD') ?? null,
    redisClusterNodes,
    /** TLS to Sentinel / Cluster nodes (a standalone URL says it with rediss://). */
    redisTls: bool(env, 'TOKENPLACE_REDIS_TLS', false),
    ...ints,
  };
}
