// Configuration is read from the environment once at start-up, checked, and frozen. A bad value
// stops the process with a message that names the variable (ConfigError). Each concern reads its
// own variables (src/config/*.ts); integer settings are tables that hold the default and the
// bounds, so values set in code (configWith) are held to the same bounds.
import { CAP_SETTINGS, readCaps } from './config/caps.js';
import { CONNECTION_SETTINGS, readConnections } from './config/connections.js';
import { checkInts, ConfigError, type Env } from './config/env.js';
import { RATE_LIMIT_SETTINGS, readRateLimits } from './config/rate-limits.js';
import { readServer, SERVER_SETTINGS, type CliOverrides } from './config/server.js';
import { readStore, STORE_SETTINGS } from './config/store.js';
import { readV1, V1_SETTINGS } from './config/v1.js';

export { ConfigError } from './config/env.js';
export type { CliOverrides } from './config/server.js';

export function loadConfig(env: Env = process.env, cli: CliOverrides = {}) {
  return Object.freeze({
    ...readServer(env, cli),
    ...readCaps(env),
    ...readV1(env),
    ...readConnections(env),
    ...readRateLimits(env),
    ...readStore(env),
  });
}

export type Config = ReturnType<typeof loadConfig>;

const INT_SETTINGS = [SERVER_SETTINGS, CAP_SETTINGS, V1_SETTINGS, CONNECTION_SETTINGS, RATE_LIMIT_SETTINGS, STORE_SETTINGS];

/** Checks what holds between settings (and, for code-set values, each setting's bounds). */
export function validateConfig(config: Config): Config {
  for (const settings of INT_SETTINGS) checkInts(config, settings);
  if (config.host.length === 0) throw new ConfigError('RELAY_HOST', 'must not be empty');
  if (config.metricsPort !== null && config.metricsPort === config.port && config.port !== 0) {
    throw new ConfigError('TOKENPLACE_METRICS_PORT', `must differ from the relay port ${config.port}`);
  }
  if (config.store === 'redis' && config.redisUrl === null && config.redisSentinels === null && config.redisClusterNodes === null) {
    throw new ConfigError(
      'TOKENPLACE_REDIS_URL',
      'is required when TOKENPLACE_RELAY_STORE=redis (or TOKENPLACE_REDIS_SENTINELS, or TOKENPLACE_REDIS_CLUSTER_NODES)',
    );
  }
  return config;
}

/** Config for tests and embedding: defaults plus explicit overrides, validated like the environment, frozen. */
export function configWith(overrides: Partial<Config> = {}, env: Env = {}): Config {
  return validateConfig(Object.freeze({ ...loadConfig(env), ...overrides }));
}
