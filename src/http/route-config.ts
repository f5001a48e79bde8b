// Every route carries its own settings in its route config (src/http/fastify-types.ts): a bounded
// name for metrics and logs and the rate-limit plan it spends. A route registered without either
// stops the start-up here, naming it, instead of silently spending some default budget. Routes
// marked `cors` (the public API v1 client routes) answer the preflight here; their CORS headers are
// added by the app's onSend hook (src/app.ts).
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { PLANS } from '../limits/budgets.js';

export class RouteConfigError extends Error {
  override readonly name = 'RouteConfigError';
}

export const routeConfigPlugin = fp(
  async (app: FastifyInstance) => {
    const publicUrls = new Set<string>();
    app.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
      const config = route.config as { name?: unknown; rateLimit?: unknown; cors?: unknown } | undefined;
      if (typeof config?.name !== 'string' || config.name === '') throw new RouteConfigError(`route ${methods} ${route.url} declares no name (config.name)`);
      if (config.rateLimit === undefined) throw new RouteConfigError(`route ${methods} ${route.url} declares no rate-limit plan (config.rateLimit)`);
      if (config.cors === true) publicUrls.add(route.url);
    });

    // One preflight answer for every public URL; other OPTIONS requests are the usual 404.
    app.options('*', { config: { name: 'v1_cors_preflight', quiet: true, rateLimit: PLANS.clientAnonymous } }, async (request, reply) => {
      const path = request.url.split('?', 1)[0] ?? '';
      if (!publicUrls.has(path)) {
        reply.callNotFound();
        return;
      }
      return reply
        .code(204)
        .header('access-control-allow-origin', '*')
        .header('access-control-expose-headers', 'Retry-After')
        .header('access-control-allow-methods', 'GET, POST, OPTIONS')
        .header('access-control-allow-headers', 'Content-Type, Accept')
        .header('access-control-max-age', '600')
        .send();
    });
  },
  { name: 'tokenplace-route-config', fastify: '5.x' },
);
