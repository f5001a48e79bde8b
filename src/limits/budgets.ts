// The budgets a request can spend, the plans routes choose from (each route names its plan in its
// own config: `rateLimit`), and the default
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

/**
 * The plans routes choose from: each route names its plan in its own route config
 * (`config: { rateLimit: PLANS.clientPoll }`), and a route without one stops the start-up
 * (src/http/route-config.ts).
 */
export const PLANS = {
  /** A client polling for its answer: per address, then per (client key, address). */
  clientPoll: { ops: false, early: [{ budget: 'client', key: ADDRESS }], late: [{ budget: 'client_key', key: CLIENT_KEY }] },
  /** A client queueing work: the client and submit budgets per address, then per (client key, address). */
  clientSubmit: {
    ops: false,
    early: [
      { budget: 'client', key: ADDRESS },
      { budget: 'submit', key: ADDRESS },
    ],
    late: [{ budget: 'client_key', key: CLIENT_KEY }],
  },
  /** Anything a browser or client does without a key: per address. */
  clientAnonymous: { ops: false, early: [{ budget: 'client', key: ADDRESS }], late: [] },
  /** A compute node naming itself: per address before the token check, then per (node key, address). */
  nodeKeyed: { ops: false, early: [{ budget: 'node_address', key: ADDRESS }], late: [{ budget: 'node', key: NODE_KEY }] },
  /** Node routes whose body names a client, not the node (/source answers a client key). */
  nodeUnkeyed: { ops: false, early: [{ budget: 'node_address', key: ADDRESS }], late: [] },
  /** Operations endpoints: exempt for cluster-internal addresses. */
  ops: { ops: true, early: [{ budget: 'ops', key: ADDRESS }], late: [] },
} as const satisfies Record<string, RoutePlan>;

/** What a request that matched no route (a 404) spends: a flood of 404s is still limited. */
export const UNROUTED_PLAN: RoutePlan = PLANS.clientAnonymous;
