// Per-route settings the shared hooks read: the bounded metrics/log name, the rate-limit plan,
// whether browsers on other origins may call it, the error shape the route's peers expect, and
// whether successful calls stay out of the request log. src/http/route-config.ts checks at start-up
// that every route declares a name and a plan.
import type { ErrorStyle } from '../core/errors.js';
import type { RoutePlan } from '../limits/budgets.js';
import type { RelayContext } from '../context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Route name for metrics and logs (bounded label). */
    name?: string;
    /** The budgets a call spends (src/limits/budgets.ts PLANS). Required on every route. */
    rateLimit?: RoutePlan;
    /** Public API route a browser on another origin may call: CORS headers and a preflight. */
    cors?: boolean;
    errorStyle?: ErrorStyle;
    /** Health, liveness and metrics: not logged per request. */
    quiet?: boolean;
  }
  interface FastifyInstance {
    relay: RelayContext;
  }
}

export {};
