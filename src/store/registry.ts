// The backends the relay can keep its state in. A kind maps to how its store is built, which rate
// counter goes with it, and whether expiries are followed by a memory reclaim in this process.
// Adding a backend is one entry here (its kind in BACKEND_KINDS) plus its run of the contract
// suites (test/store/contract.ts, contract-v1.ts).
import type { Config } from '../config.js';
import { MemoryRateCounter, type ForgetCause } from '../limits/memory-counter.js';
import type { RateCounter } from '../limits/rate-counter.js';
import { LeasingRateCounter } from '../limits/leasing-counter.js';
import { REDIS_LIMITS_NAMESPACE, RedisRateCounter } from '../limits/redis-counter.js';
import { MemoryReclaimer } from '../memory/reclaim.js';
import { storeLimits } from './limits.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { BackendKind, RelayStore } from './types.js';

/** How long start-up waits for Redis before serving anyway (readiness stays 503 until it is up). */
const REDIS_BOOT_WAIT_MS = 5000;

export interface Backend<S extends RelayStore = RelayStore> {
  create(config: Config): Promise<S>;
  /** The rate counter for this store: limits shared wherever the state is shared. */
  rateCounter(store: S, config: Config, onForget: (cause: ForgetCause, count: number) => void): RateCounter;
  /** Gives memory back after large expiries when the state lives in this process's heap. */
  reclaimer(): MemoryReclaimer | null;
}

const memory: Backend<MemoryStore> = {
  create: async (config) => new MemoryStore(storeLimits(config)),
  // Per process: one replica holds all the state.
  rateCounter: (_store, config, onForget) => new MemoryRateCounter({ maxKeys: config.rateLimitMaxKeys, onForget }),
  reclaimer: () => new MemoryReclaimer(),
};

const redis: Backend<RedisStore> = {
  async create(config) {
    const store = new RedisStore(storeLimits(config), {
      url: config.redisUrl,
      sentinel:
        config.redisSentinels === null ? null : { sentinels: config.redisSentinels, name: config.redisSentinelMaster, password: config.redisSentinelPassword },
      cluster: config.redisClusterNodes === null ? null : { nodes: config.redisClusterNodes },
      tls: config.redisTls,
      password: config.redisPassword,
      prefix: config.redisPrefix,
      connectTimeoutMs: config.redisConnectTimeoutMs,
      commandTimeoutMs: config.redisCommandTimeoutMs,
      waitReplicas: config.redisWaitReplicas,
      waitTimeoutMs: config.redisWaitTimeoutMs,
    });
    // Redis down at boot is not fatal: the relay starts unready and recovers when Redis returns.
    await store.ready(REDIS_BOOT_WAIT_MS).catch(() => undefined);
    return store;
  },
  // Global across replicas: every bucket lives in the same Redis as the relay's state, on the
  // store's own command connection (no third connection per process). Per-process buckets would
  // quietly multiply every limit by the replica count. Busy keys lease a few tokens at a time
  // (src/limits/leasing-counter.ts): one script per lease instead of one per request.
  rateCounter: (store, config) => {
    const shared = new RedisRateCounter(store.lendCommands(REDIS_LIMITS_NAMESPACE));
    return config.rateLimitMaxLease > 1 ? new LeasingRateCounter(shared, { maxLease: config.rateLimitMaxLease }) : shared;
  },
  reclaimer: () => null,
};

const BACKENDS: Readonly<Record<BackendKind, Backend>> = { memory, redis };

/** The registry entry of a store (by its kind). */
export function backendOf(store: RelayStore): Backend {
  return BACKENDS[store.kind];
}

/** Builds the backend the config names. */
export function createStore(config: Config): Promise<RelayStore> {
  return BACKENDS[config.store].create(config);
}
