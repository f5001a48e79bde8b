import type { Config } from '../config.js';
import { storeLimits } from '../protocols/legacy/limits.js';
import { MemoryStore } from '../protocols/legacy/memory.js';
import { RedisStore } from '../protocols/legacy/redis.js';
import type { RelayStore } from './types.js';

/** How long start-up waits for Redis before serving anyway (readiness stays 503 until it is up). */
const REDIS_BOOT_WAIT_MS = 5000;

/** Builds the backend the config names. */
export async function createStore(config: Config): Promise<RelayStore> {
  const limits = storeLimits(config);
  if (config.store === 'redis' && config.redisUrl !== null) {
    const store = new RedisStore(limits, {
      url: config.redisUrl,
      password: config.redisPassword,
      prefix: config.redisPrefix,
      connectTimeoutMs: config.redisConnectTimeoutMs,
      commandTimeoutMs: config.redisCommandTimeoutMs,
    });
    // Redis down at boot is not fatal: the relay starts unready and recovers when Redis returns.
    await store.ready(REDIS_BOOT_WAIT_MS).catch(() => undefined);
    return store;
  }
  return new MemoryStore(limits);
}
