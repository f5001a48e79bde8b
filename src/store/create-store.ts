import { ConfigError, type Config } from '../config.js';
import { storeLimits } from './limits.js';
import { MemoryStore } from './memory-store.js';
import type { RelayStore } from './types.js';

/** Builds the backend the config names. */
export async function createStore(config: Config): Promise<RelayStore> {
  const limits = storeLimits(config);
  if (config.store === 'redis') {
    throw new ConfigError('TOKENPLACE_RELAY_STORE', 'the redis store is not available in this build');
  }
  return new MemoryStore(limits);
}
