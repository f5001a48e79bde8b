// Rate limits for a public relay, as two hooks:
//  * onRequest resolves the client address (src/http/client-address.ts) and spends the budgets
//    keyed on it, before the token check and before the body is read, so floods cost little;
//  * preHandler spends the budgets keyed on a public key from the body (node key, client key),
//    after the compute-node token check. A key in a body is a name the caller has not proved
//    (node keys are public, a client key is any string), so those buckets are keyed on the key
//    *and* the caller's source: a third party naming a victim's key empties only its own
//    bucket for that key, never the victim's. With the Redis counter the bucket is still one
//    across replicas.
// Which budgets a route spends is its own `config.rateLimit` (a plan of src/limits/budgets.ts). A refused
// request is a 429 `rate_limited` with Retry-After, shaped by the errors plugin like any other
// error; nothing else is slowed. Keys are hashed before they reach the counter, and nothing here
// logs an address or a key.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RelayError } from '../core/errors.js';
import { UNROUTED_PLAN, type BudgetName, type Charge } from '../limits/budgets.js';
import { createLimitMetrics, type LimitedReason } from '../limits/limit-metrics.js';
import type { Budget, RateCounter } from '../limits/rate-counter.js';
import { MemoryRateCounter } from '../limits/memory-counter.js';
import { AddressSet, addressLimitKey, resolveClientAddress } from './client-address.js';
import { backendOf } from '../store/registry.js';
import { sendError } from './errors-plugin.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The client's address: the socket peer, or what trusted proxies say it is. */
    clientAddress: string;
  }
}

/**
 * Bucket ids for (public key, source): a digest, so counters never hold a key or an address
 * (and keys up to 64 KiB cost 22 bytes).
 */
export function keyDigest(kind: string, key: string, source: string): string {
  return `${kind}:${createHash('sha256').update(source).update('\0').update(key).digest('base64url').slice(0, 22)}`;
}

const SWEEP_INTERVAL_MS = 10_000;

export const rateLimitPlugin = fp(
  async (app: FastifyInstance) => {
    const { config, clock, metrics, logger, store } = app.relay;
    const trusted = new AddressSet(config.trustedProxies);

    app.decorateRequest('clientAddress', '');
    // Callback style: no promise per request for a synchronous step.
    app.addHook('onRequest', (request, _reply, done) => {
      request.clientAddress = resolveClientAddress(request.socket?.remoteAddress, request.headers, trusted);
      done();
    });
    if (!config.rateLimit) return;

    const internal = new AddressSet([...config.clusterInternal, ...config.trustedProxies]);
    const budgets = Object.fromEntries(Object.entries(config.rateLimits).map(([name, size]) => [name, { name, ...size }])) as Record<BudgetName, Budget>;
    let counter: RateCounter | undefined;
    const limitMetrics = createLimitMetrics(metrics.registry, () => counter);
    counter = backendOf(store).rateCounter(store, config, limitMetrics.forgotten);
    const active = counter;

    if (active instanceof MemoryRateCounter) {
      const sweep = setInterval(() => active.sweep(clock.now()), SWEEP_INTERVAL_MS);
      sweep.unref();
      app.addHook('onClose', async () => clearInterval(sweep));
    }
    app.addHook('onClose', async () => active.close());

    /**
     * Spends one token from each budget, in order, in one counter call (one script on Redis): the
     * first refusing budget decides, and the budgets after it are not charged. A refusal is
     * returned (not thrown) so that unknown paths get a 429, not their 404.
     */
    const spend = async (charges: readonly { charge: Charge; key: string; reason: LimitedReason }[]): Promise<RelayError | null> => {
      if (charges.length === 0) return null;
      let results;
      try {
        results = await active.takeMany(
          charges.map(({ charge, key }) => ({ budget: budgets[charge.budget], key, cost: 1 })),
          clock.now(),
        );
      } catch (err) {
        // Limits protect the relay; they must not take it down with their backend. Let it through.
        limitMetrics.counterError();
        logger.warn({ err: { type: (err as Error).name } }, 'rate_limit.counter_failed');
        return null;
      }
      const at = results.findIndex((result) => !result.allowed);
      if (at < 0) return null;
      const budget = budgets[charges[at]!.charge.budget];
      limitMetrics.limited(budget.name, charges[at]!.reason);
      const retryAfter = Math.max(1, Math.ceil(results[at]!.retryAfterSeconds));
      return new RelayError('rate_limited', { retryAfter, extra: { budget: budget.name, retry_after_seconds: retryAfter } });
    };

    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const plan = request.routeOptions.config?.rateLimit ?? UNROUTED_PLAN;
      if (plan.ops && internal.hasText(request.clientAddress)) return;
      const key = addressLimitKey(request.clientAddress);
      const refused = await spend(plan.early.map((charge) => ({ charge, key, reason: 'address' as const })));
      if (refused !== null) return sendError(request, reply, refused);
    });

    app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
      const plan = request.routeOptions.config?.rateLimit ?? UNROUTED_PLAN;
      if (plan.late.length === 0) return;
      const body = request.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
      const charges = [];
      for (const charge of plan.late) {
        if (charge.key.from !== 'body') continue;
        const value = (body as Record<string, unknown>)[charge.key.field];
        // Missing or oversized keys are the route's validation errors to report, not ours.
        if (typeof value !== 'string' || value.length === 0 || value.length > config.maxKeyChars) continue;
        charges.push({ charge, key: keyDigest(charge.key.kind, value, addressLimitKey(request.clientAddress)), reason: charge.key.kind });
      }
      const refused = await spend(charges);
      if (refused !== null) return sendError(request, reply, refused);
    });
  },
  { name: 'tokenplace-rate-limit', fastify: '5.x' },
);
