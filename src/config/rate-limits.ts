// Rate limits (src/limits/budgets.ts explains the budgets and their defaults), and the addresses
// they trust: proxies whose forwarding headers are believed, and the cluster-internal ranges that
// operations endpoints never limit.
import { BUDGET_NAMES, DEFAULT_BUDGETS, type BudgetName } from '../limits/budgets.js';
import { bool, cidrs, int, raw, readInts, type Env, type IntSettings } from './env.js';

/**
 * Where operations endpoints are never rate limited: loopback plus the private ranges a
 * cluster's kubelet probes and Prometheus scrape from. Internet clients reach the relay through
 * a trusted proxy, which resolves them to their public address, so they are not in these ranges.
 */
const DEFAULT_CLUSTER_INTERNAL = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'];

/** Token-bucket sizes per budget: TOKENPLACE_RATE_LIMIT_<BUDGET>_PER_MINUTE and _BURST. */
function rateBudgets(env: Env): Record<BudgetName, { perMinute: number; burst: number }> {
  const out = {} as Record<BudgetName, { perMinute: number; burst: number }>;
  for (const name of BUDGET_NAMES) {
    const prefix = `TOKENPLACE_RATE_LIMIT_${name.toUpperCase()}`;
    const fallback = DEFAULT_BUDGETS[name];
    out[name] = Object.freeze({
      perMinute: int(env, `${prefix}_PER_MINUTE`, fallback.perMinute, 1, 10_000_000),
      burst: int(env, `${prefix}_BURST`, fallback.burst, 1, 10_000_000),
    });
  }
  return Object.freeze(out);
}

export const RATE_LIMIT_SETTINGS = {
  rateLimitMaxKeys: { env: 'TOKENPLACE_RATE_LIMIT_MAX_KEYS', fallback: 100_000, min: 100, max: 10_000_000 },
  // Redis store: the most tokens a busy key leases at once (src/limits/leasing-counter.ts); 1 = no leases.
  rateLimitMaxLease: { env: 'TOKENPLACE_RATE_LIMIT_MAX_LEASE', fallback: 8, min: 1, max: 64 },
} as const satisfies IntSettings;

export function readRateLimits(env: Env) {
  return {
    trustedProxies: cidrs(env, 'TOKENPLACE_TRUSTED_PROXIES'),
    rateLimit: bool(env, 'TOKENPLACE_RATE_LIMIT', true),
    rateLimits: rateBudgets(env),
    ...readInts(env, RATE_LIMIT_SETTINGS),
    /** Operations endpoints are never limited from here (the trusted proxies are added too). */
    clusterInternal: raw(env, 'TOKENPLACE_CLUSTER_INTERNAL_CIDRS') === undefined ? DEFAULT_CLUSTER_INTERNAL : cidrs(env, 'TOKENPLACE_CLUSTER_INTERNAL_CIDRS'),
  };
}
