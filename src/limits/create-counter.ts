// Picks the counter backend. With the memory store, limits are per process (one replica). With
// the Redis store they are global across replicas: every bucket lives in the same Redis as the
// relay's state, on the store's own command connection (no third connection per process).
import type { Config } from '../config.js';
import { RedisStore } from '../protocols/legacy/redis.js';
import type { RelayStore } from '../store/types.js';
import { MemoryRateCounter, type ForgetCause } from './memory-counter.js';
import type { RateCounter } from './rate-counter.js';
import { REDIS_LIMITS_NAMESPACE, RedisRateCounter } from './redis-counter.js';

export function createRateCounter(config: Config, store: RelayStore, onForget: (cause: ForgetCause, count: number) => void): RateCounter {
  if (config.store === 'redis') {
    // Falling back to per-process buckets would quietly multiply every limit by the replica count.
    if (!(store instanceof RedisStore)) throw new Error('TOKENPLACE_RELAY_STORE=redis needs the Redis store for global rate limits');
    return new RedisRateCounter(store.lendCommands(REDIS_LIMITS_NAMESPACE));
  }
  return new MemoryRateCounter({ maxKeys: config.rateLimitMaxKeys, onForget });
}
