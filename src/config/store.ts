// Where the relay keeps its state: the backend (src/store/registry.ts) and how to reach Redis.
import { BACKEND_KINDS } from '../store/types.js';
import { ConfigError, oneOf, raw, readInts, url, type Env, type IntSettings } from './env.js';

export const STORE_SETTINGS = {
  /** Redis store: give up on a connection attempt / a command after this long (fail fast, 503). */
  redisConnectTimeoutMs: { env: 'TOKENPLACE_REDIS_CONNECT_TIMEOUT_MS', fallback: 2000, min: 100, max: 60_000 },
  redisCommandTimeoutMs: { env: 'TOKENPLACE_REDIS_COMMAND_TIMEOUT_MS', fallback: 2000, min: 100, max: 60_000 },
} as const satisfies IntSettings;

export function readStore(env: Env) {
  const store = oneOf(env, 'TOKENPLACE_RELAY_STORE', 'memory', BACKEND_KINDS);
  const redisUrlRaw = raw(env, 'TOKENPLACE_REDIS_URL');
  if (store === 'redis' && redisUrlRaw === undefined) {
    throw new ConfigError('TOKENPLACE_REDIS_URL', 'is required when TOKENPLACE_RELAY_STORE=redis');
  }
  return {
    store,
    redisUrl: redisUrlRaw === undefined ? null : url('TOKENPLACE_REDIS_URL', redisUrlRaw, ['redis', 'rediss']).toString(),
    redisPassword: raw(env, 'TOKENPLACE_REDIS_PASSWORD') ?? null,
    redisPrefix: raw(env, 'TOKENPLACE_REDIS_PREFIX') ?? 'tokenplace:relay:v1:',
    ...readInts(env, STORE_SETTINGS),
  };
}
