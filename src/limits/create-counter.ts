// Picks the counter backend. With the memory store, limits are per process (one replica); the
// Redis counter, when present, makes them global across replicas.
import type { Config } from '../config.js';
import { MemoryRateCounter, type ForgetCause } from './memory-counter.js';
import type { RateCounter } from './rate-counter.js';

export function createRateCounter(config: Config, onForget: (cause: ForgetCause, count: number) => void): RateCounter {
  return new MemoryRateCounter({ maxKeys: config.rateLimitMaxKeys, onForget });
}
