// How the Redis store connects: fail fast while Redis is away (no offline queue, one retry,
// bounded connect and command timeouts) so a request during an outage gets a 503 at once instead
// of hanging; reconnect forever in the background so the relay recovers by itself.
//
// Connections per relay process: exactly two, one for commands (auto-pipelined) and one
// subscriber for wake-ups. N replicas hold 2N connections to Redis.
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../../core/errors.js';

export interface RedisConnectionOptions {
  url: string;
  /** Used when the URL carries no password. */
  password?: string | null;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** Reconnect backoff: quick first retries, never slower than once a second. */
const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 5), 1000);

export function redisOptions(options: RedisConnectionOptions, role: 'commands' | 'subscriber'): RedisOptions {
  const hasUrlPassword = new URL(options.url).password !== '';
  return {
    connectionName: `tokenplace-relay-${role}`,
    ...(hasUrlPassword || options.password == null ? {} : { password: options.password }),
    connectTimeout: options.connectTimeoutMs ?? 2000,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    enableOfflineQueue: role === 'subscriber',
    maxRetriesPerRequest: 1,
    retryStrategy,
    enableAutoPipelining: role === 'commands',
    autoResubscribe: true,
  };
}

export function connect(options: RedisConnectionOptions, role: 'commands' | 'subscriber'): Redis {
  return new Redis(options.url, redisOptions(options, role));
}

/** Server replies that mean "not now", as opposed to a bug in a script or a command. */
const TRANSIENT_REPLY = /^(OOM|LOADING|BUSY|READONLY|MASTERDOWN|NOAUTH|WRONGPASS|NOPERM|TRYAGAIN)\b/;

/**
 * Maps a failed Redis call to StoreUnavailableError when it is about reaching Redis (socket down,
 * timeout, offline, loading, out of memory); other errors pass through unchanged.
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
    if (/writeable|offline|closed/i.test(err.message)) return 'disconnected';
    return err.name;
  }
  return 'unknown';
}

/** QUIT when connected (flushes pending replies); otherwise just drop the socket. */
export async function quit(redis: Redis): Promise<void> {
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
