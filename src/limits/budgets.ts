// Which budget a request spends, by route name (the route's `config.name`), and the default
// size of each budget. The defaults come from the cadence of the real upstream peers
// (protocol.md §C.1, §C.2, §E.1) with at least a tenfold margin:
//
//  client        per client address, every client route and unknown paths. The busiest honest
//                client is the upstream browser page, polling /responses/retrieve every 500 ms
//                plus /relay/diagnostics every 1 s: 3 req/s. CryptoClient and client.py poll
//                every 2 s. 1800/min (30/s) is 10x the browser; burst 120 covers page loads and
//                several people behind one NAT.
//  submit        per client address, routes that queue work for a node. A person sends a chat
//                message every few seconds at most (0.2–0.5/s). 300/min (5/s), burst 30. The
//                per-client queue cap (TOKENPLACE_RELAY_MAX_QUEUE_PER_CLIENT) still applies.
//  client_key    per client public key, client routes that carry one. One key is one
//                conversation: the browser polls it at 2/s; 1200/min (20/s), burst 120.
//  node_address  per address, compute-node routes, counted *before* the token check so token
//                guessing and unauthenticated floods stop here. An upstream node polls /sink
//                every 0–10 s, ≤ 3 req/s when busy (see node); a home may run several nodes:
//                6000/min (100/s), burst 400.
//  node          per node public key, after the token check. A busy legacy node sends /sink +
//                /source per answer (≤ 2/s with a real model); a busy API v1 node adds control
//                polls and progress records (~1/s each), ~3/s in all. 1800/min (30/s), burst 200.
//  ops           per address for /healthz, /livez, /metrics, and only for addresses outside the
//                cluster-internal networks (probes and Prometheus there are never limited).
//                External uptime checks and scrapes come every 10–60 s: 120/min, burst 30.
import type { Budget } from './rate-counter.js';

export const BUDGET_NAMES = ['client', 'submit', 'client_key', 'node_address', 'node', 'ops'] as const;
export type BudgetName = (typeof BUDGET_NAMES)[number];

export const DEFAULT_BUDGETS: Readonly<Record<BudgetName, Omit<Budget, 'name'>>> = {
  client: { perMinute: 1800, burst: 120 },
  submit: { perMinute: 300, burst: 30 },
  client_key: { perMinute: 1200, burst: 120 },
  node_address: { perMinute: 6000, burst: 400 },
  node: { perMinute: 1800, burst: 200 },
  ops: { perMinute: 120, burst: 30 },
};

/** What a budget is keyed on: the resolved client address, or a key from the JSON body. */
export type KeySource = { from: 'address' } | { from: 'body'; field: string; kind: 'client_key' | 'node_key' };

export interface Charge {
  budget: BudgetName;
  key: KeySource;
}

export interface RoutePlan {
  /** Operations endpoints: exempt for cluster-internal addresses. */
  ops: boolean;
  /** Spent in onRequest, before the token check and before the body is read. */
  early: readonly Charge[];
  /** Spent in preHandler, after the token check, from the parsed body. */
  late: readonly Charge[];
}

const ADDRESS = { from: 'address' } as const;
const CLIENT_KEY = { from: 'body', field: 'client_public_key', kind: 'client_key' } as const;
const NODE_KEY = { from: 'body', field: 'server_public_key', kind: 'node_key' } as const;

const CLIENT_POLL: RoutePlan = { ops: false, early: [{ budget: 'client', key: ADDRESS }], late: [{ budget: 'client_key', key: CLIENT_KEY }] };
const CLIENT_SUBMIT: RoutePlan = {
  ops: false,
  early: [
    { budget: 'client', key: ADDRESS },
    { budget: 'submit', key: ADDRESS },
  ],
  late: [{ budget: 'client_key', key: CLIENT_KEY }],
};
const CLIENT_ANONYMOUS: RoutePlan = { ops: false, early: [{ budget: 'client', key: ADDRESS }], late: [] };
const NODE_KEYED: RoutePlan = { ops: false, early: [{ budget: 'node_address', key: ADDRESS }], late: [{ budget: 'node', key: NODE_KEY }] };
// Node routes whose body names a client, not the node (/source answers a client key).
const NODE_UNKEYED: RoutePlan = { ops: false, early: [{ budget: 'node_address', key: ADDRESS }], late: [] };
const OPS: RoutePlan = { ops: true, early: [{ budget: 'ops', key: ADDRESS }], late: [] };

/**
 * Route name → plan. Legacy names from src/protocols/legacy/routes.ts, API v1 names from
 * src/protocols/v1/routes.ts, operations from src/ops/routes.ts. A name not listed here (a new route, the
 * chat page, an unknown path) spends the per-address client budget: safe for anything a
 * browser or node does, and a flood of 404s is still limited.
 */
export const ROUTE_PLANS: Readonly<Record<string, RoutePlan>> = {
  // legacy client routes
  next_server: CLIENT_ANONYMOUS,
  faucet: CLIENT_SUBMIT,
  retrieve: CLIENT_POLL,
  stream_retrieve: CLIENT_POLL,
  // legacy compute-node routes
  sink: NODE_KEYED,
  source: NODE_UNKEYED,
  stream_source: NODE_UNKEYED,
  // API v1 client routes (src/protocols/v1/routes.ts); /servers/next, diagnostics and meta use the default
  v1_requests: CLIENT_SUBMIT,
  v1_responses_retrieve: CLIENT_POLL,
  v1_requests_cancel: CLIENT_POLL,
  // API v1 compute-node routes
  v1_servers_register: NODE_KEYED,
  v1_servers_poll: NODE_KEYED,
  v1_servers_control: NODE_KEYED,
  v1_progress: NODE_KEYED,
  v1_servers_unregister: NODE_KEYED,
  v1_unregister_alias: NODE_KEYED,
  unregister: NODE_KEYED,
  v1_responses: NODE_UNKEYED,
  // operations
  healthz: OPS,
  livez: OPS,
  metrics: OPS,
};

export const DEFAULT_PLAN: RoutePlan = CLIENT_ANONYMOUS;

export function planFor(routeName: string | undefined): RoutePlan {
  return (routeName !== undefined && Object.hasOwn(ROUTE_PLANS, routeName) ? ROUTE_PLANS[routeName] : undefined) ?? DEFAULT_PLAN;
}
