// Operations endpoints: readiness (/healthz), liveness (/livez), Prometheus (/metrics).
// Liveness says only "the process answers"; readiness says "send me traffic".
import type { FastifyInstance } from 'fastify';
import { RelayError } from '../core/errors.js';
import { PLANS } from '../limits/budgets.js';
import { makeServerTokenCheck } from '../http/server-token.js';
import { UpstreamResolution } from '../http/upstream-health.js';

export async function opsRoutes(app: FastifyInstance): Promise<void> {
  const { config, store, clock, drain } = app.relay;
  const upstream = config.requireUpstreamHealth ? new UpstreamResolution(config.gpuHost) : null;
  if (upstream !== null) upstream.current(); // first lookup starts at boot, not at the first probe

  app.get('/livez', { config: { name: 'livez', quiet: true, rateLimit: PLANS.ops } }, async () => ({ status: 'alive' }));

  app.get('/healthz', { config: { name: 'healthz', quiet: true, rateLimit: PLANS.ops } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const base = { upstream: config.upstreamUrl, gpuHost: config.gpuHost, store: store.kind };
    if (drain.draining) {
      reply.code(503).header('retry-after', '0');
      return { status: 'draining', ...base, knownServers: 0, details: { shutdown: true } };
    }
    const health = await store.health();
    if (!health.ok) {
      reply.code(503).header('retry-after', '2');
      return { status: 'degraded', ...base, knownServers: 0, details: { store: health.reason } };
    }
    const knownServers = (await store.stats(clock.now())).nodes;
    const resolved = upstream?.current();
    if (upstream !== null && resolved !== true) {
      reply.code(503).header('retry-after', '5');
      return { status: 'degraded', ...base, knownServers, details: { gpuHostResolution: resolved === false ? 'failed' : 'pending' } };
    }
    const answer: Record<string, unknown> = { status: 'ok', ...base, knownServers };
    if (knownServers === 0) answer.details = { knownServers: 'empty' };
    return answer;
  });

  if (config.metricsPort === null) metricsRoute(app, app.relay);
}

/** GET /metrics, on the relay's app or (TOKENPLACE_METRICS_PORT) on the metrics listener. */
export function metricsRoute(app: FastifyInstance, relay: FastifyInstance['relay']): void {
  const { config, metrics } = relay;
  const checkMetricsToken = makeServerTokenCheck(config.metricsToken === null ? [] : [config.metricsToken]);
  app.get('/metrics', { config: { name: 'metrics', quiet: true, rateLimit: PLANS.ops } }, async (request, reply) => {
    if (config.metricsToken !== null) {
      const header = request.headers.authorization ?? '';
      const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
      try {
        checkMetricsToken(bearer);
      } catch {
        reply.header('www-authenticate', 'Bearer');
        throw new RelayError('metrics_unauthorized');
      }
    }
    reply.header('cache-control', 'no-store').type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
