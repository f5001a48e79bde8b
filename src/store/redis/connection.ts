// How the Redis store connects: fail fast while Redis is away (no offline queue, one retry,
// bounded connect and command timeouts) so a request during an outage gets a 503 at once instead
// of hanging; reconnect forever in the background so the relay recovers by itself.
//
// Three ways to reach Redis (README, "Redis"):
//   standalone  one server by URL;
//   sentinel    Sentinel addresses and a master name: ioredis asks the sentinels for the primary,
//               and after a failover (socket closed, or READONLY from a demoted one) asks again;
//   cluster     seed nodes of a Redis Cluster: every relay key carries one hash tag (prefix.ts),
//               so a deployment lives in one slot and every script runs on the primary that owns it.
//
// Connections per relay process: two logical ones, commands (auto-pipelined) and a subscriber for
// wake-ups. Sentinel mode adds a short-lived sentinel query per (re)connect; Cluster mode keeps a
// socket per primary for commands (only the slot's owner gets traffic) and one for the subscriber.
import { Cluster, Redis, ReplyError, type ClusterOptions, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../../core/errors.js';

export interface RedisEndpoint {
  host: string;
  port: number;
}

export interface RedisConnectionOptions {
  /** Standalone: the server's URL (redis:// or rediss://). */
  url?: string | null;
  /** Sentinel: the sentinels' addresses and the master's name. */
  sentinel?: { sentinels: readonly RedisEndpoint[]; name: string; password?: string | null } | null;
  /** Cluster: seed nodes (any reachable subset of the cluster). */
  cluster?: { nodes: readonly RedisEndpoint[] } | null;
  /** TLS to the data nodes (and sentinels) in sentinel and cluster mode; a URL says it with rediss://. */
  tls?: boolean;
  /** Used when the URL carries no password; the data nodes' password in the other modes. */
  password?: string | null;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';
export type RedisClient = Redis | Cluster;

export function modeOf(options: RedisConnectionOptions): RedisMode {
  if (options.cluster != null) return 'cluster';
  if (options.sentinel != null) return 'sentinel';
  return 'standalone';
}

/** Reconnect backoff: quick first retries, never slower than once a second. */
const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 5), 1000);

export function redisOptions(options: RedisConnectionOptions, role: 'commands' | 'subscriber'): RedisOptions {
  const hasUrlPassword = options.url != null && new URL(options.url).password !== '';
  return {
    connectionName: `tokenplace-relay-${role}`,
    ...(hasUrlPassword || options.password == null ? {} : { password: options.password }),
    ...(options.tls === true && options.url == null ? { tls: {} } : {}),
    connectTimeout: options.connectTimeoutMs ?? 2000,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    enableOfflineQueue: role === 'subscriber',
    maxRetriesPerRequest: 1,
    retryStrategy,
    enableAutoPipelining: role === 'commands',
    autoResubscribe: true,
  };
}

export function connect(options: RedisConnectionOptions, role: 'commands' | 'subscriber'): RedisClient {
  const base = redisOptions(options, role);
  if (options.cluster != null) {
    const { enableOfflineQueue, enableAutoPipelining, retryStrategy: _perNode, ...node } = base;
    const cluster: ClusterOptions = {
      redisOptions: node,
      enableOfflineQueue,
      enableAutoPipelining,
      // Reads go to primaries: a replica may lag, and every transition reads before it writes.
      scaleReads: 'master',
      clusterRetryStrategy: retryStrategy,
      // MOVED/ASK during a slot migration or failover: follow a few, then fail (503) rather than hang.
      maxRedirections: 8,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: options.connectTimeoutMs ?? 2000,
    };
    return new Cluster(
      options.cluster.nodes.map(({ host, port }) => ({ host, port })),
      cluster,
    );
  }
  if (options.sentinel != null) {
    const tls = options.tls === true;
    return new Redis({
      ...base,
      sentinels: options.sentinel.sentinels.map(({ host, port }) => ({ host, port })),
      name: options.sentinel.name,
      role: 'master',
      ...(options.sentinel.password == null ? {} : { sentinelPassword: options.sentinel.password }),
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      sentinelRetryStrategy: retryStrategy,
      // A crashed primary closes the socket and ioredis asks the sentinels again. A primary that
      // was demoted while reachable (a partition healed) answers writes with READONLY: reconnect,
      // which asks the sentinels for the new primary; the refused call itself fails (503), it
      // was not executed. (ioredis's failoverDetector is not used: its sentinel clients can
      // outlive a store closed while it starts.)
      reconnectOnError: (err: Error) => (/^READONLY\b/.test(err.message) ? 1 : false),
    });
  }
  if (options.url == null) throw new Error('the Redis store needs a URL, sentinels or cluster nodes');
  return new Redis(options.url, base);
}

/** Server replies that mean "not now", as opposed to a bug in a script or a command. */
const TRANSIENT_REPLY = /^(OOM|LOADING|BUSY|READONLY|MASTERDOWN|NOAUTH|WRONGPASS|NOPERM|TRYAGAIN|CLUSTERDOWN|MOVED|ASK|NOREPLICAS)\b/;

/**
 * Maps a failed Redis call to StoreUnavailableError when it is about reaching Redis (socket down,
 * timeout, offline, loading, out of memory, failover in progress); other errors pass through unchanged.
 */
export function classify(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  if (err instanceof ReplyError) return TRANSIENT_REPLY.test(String((err as Error).message)) ? new StoreUnavailableError(reasonOf(err)) : err;
  if (err instanceof Error) return new StoreUnavailableError(reasonOf(err));
  return err;
}

/** A short reason without addresses or credentials: an errno code or the error's class. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
    const word = /^([A-Z]+)\b/.exec(err.message)?.[1];
    if (err instanceof ReplyError && word !== undefined) return word;
    if (/timed out/i.test(err.message)) return 'timeout';
    if (/writeable|offline|closed|isn't ready|not ready/i.test(err.message)) return 'disconnected';
    return err.name;
  }
  return 'unknown';
}

/** QUIT when connected (flushes pending replies); otherwise just drop the socket(s). */
export async function quit(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through
    }
  }
  redis.disconnect();
}

/** Every key matching `pattern` on every primary (a Cluster scans each one). Test and tool use. */
export async function scanAll(redis: RedisClient, pattern: string): Promise<string[]> {
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}
