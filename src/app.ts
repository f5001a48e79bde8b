// Builds the relay as a Fastify app. `relayApp` is the plugin (hooks, error handling, and each
// protocol's plugin with its routes and background expiry); `buildApp` wraps it in a Fastify instance with the relay's server options.
// Tests drive `buildApp(...)` with app.inject(); src/server.ts puts it on a socket.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { systemClock, type Clock } from './core/clock.js';
import type { Config } from './config.js';
import { createRelayContext } from './context.js';
import { Drain } from './core/drain.js';
import { relayClientErrorHandler } from './http/client-error.js';
import { installErrorHandling } from './http/errors-plugin.js';
import { requestIdFor } from './http/request-id.js';
import './http/fastify-types.js';
import { createLogger, loggedHeader } from './core/logger.js';
import { createMetrics } from './ops/metrics.js';
import { buildInfo } from './ops/build-info.js';
import { nodeEventLogger } from './ops/node-log.js';
import { diagnosticsRoutes } from './ops/diagnostics.js';
import { legacyProtocol } from './protocols/legacy/plugin.js';
import { opsRoutes } from './ops/routes.js';
import { opsPage } from './ops/page.js';
import { v1Protocol } from './protocols/v1/plugin.js';
import { heldPollsPlugin } from './http/held-polls.js';
import { isIdle } from './http/idle-answer.js';
import { rateLimitPlugin } from './http/rate-limit-plugin.js';
import { routeConfigPlugin } from './http/route-config.js';
import { storeLimits } from './store/limits.js';
import { backendOf } from './store/registry.js';
import { MemoryStore } from './store/memory.js';
import type { RelayStore } from './store/types.js';

export interface AppOptions {
  config: Config;
  /** Defaults to a fresh memory store owned (and closed) by the app. */
  store?: RelayStore;
  clock?: Clock;
  logger?: Logger;
  drain?: Drain;
  /** Extra route plugins registered beside the relay's own (e.g. the chat page). */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
}

export const relayApp = fp(
  async (app: FastifyInstance, opts: Required<Pick<AppOptions, 'config' | 'store' | 'clock' | 'logger' | 'drain'>> & Pick<AppOptions, 'plugins'>) => {
    const { config, store, clock, logger, drain } = opts;
    const metrics = createMetrics(store, clock, store.limits, { onNodeEvent: nodeEventLogger(logger), build: buildInfo(config) });
    app.decorate('relay', createRelayContext({ config, store, clock, drain, metrics, logger, reclaimer: backendOf(store).reclaimer() }));
    drain.signal.addEventListener('abort', () => metrics.setDraining(true), { once: true });

    installErrorHandling(app);

    // Callback-style hooks: no promise per request on the hot path. One onSend hook for every
    // header a reply gains on its way out: the request id, and CORS on the routes marked `cors`
    // (the public API v1 client routes, src/http/route-config.ts).
    app.addHook('onSend', (request, reply, payload, done) => {
      reply.header('x-request-id', request.id);
      if (request.routeOptions.config?.cors === true) reply.header('access-control-allow-origin', '*').header('access-control-expose-headers', 'Retry-After');
      done(null, payload);
    });

    const logRequests = logger.isLevelEnabled('info');
    const logIdle = logger.isLevelEnabled('debug');
    app.addHook('onResponse', (request, reply, done) => {
      const routeConfig = request.routeOptions.config;
      const name = routeConfig?.name ?? 'unknown';
      metrics.httpRequest(request.method, name, reply.statusCode, reply.elapsedTime / 1000);
      // Errors and real work at info; quiet routes (health, metrics) only when they fail; a poll
      // answered with nothing yet (src/http/idle-answer.ts) at debug.
      const ok = reply.statusCode < 400;
      const idle = ok && isIdle(reply);
      if (idle ? logIdle : logRequests && !(routeConfig?.quiet && ok)) {
        const fields = {
          http_method: request.method,
          http_route: name,
          http_status: reply.statusCode,
          duration_ms: Math.round(reply.elapsedTime * 10) / 10,
          request_id: request.id,
          user_agent: loggedHeader(request.headers['user-agent']),
        };
        if (idle) logger.debug({ ...fields, idle: true }, 'http.request');
        else logger.info(fields, 'http.request');
      }
      done();
    });

    await app.register(routeConfigPlugin); // first: it checks every route registered after it
    await app.register(rateLimitPlugin); // before the routes: its hooks must cover them all
    await app.register(heldPollsPlugin); // after it: reads the resolved client address
    await app.register(opsRoutes);
    await app.register(diagnosticsRoutes);
    await app.register(opsPage);
    await app.register(legacyProtocol);
    await app.register(v1Protocol);
    for (const plugin of opts.plugins ?? []) await app.register(plugin);
  },
  { name: 'tokenplace-relay', fastify: '5.x' },
);

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const ownsStore = options.store === undefined;
  const store = options.store ?? new MemoryStore(storeLimits(config));
  const app = Fastify({
    loggerInstance: logger,
    // One line per request is written by our onResponse hook, in our shape.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    // Held polls must not be cut short by the framework; the socket timeouts live in server.ts.
    requestTimeout: 0,
    requestIdHeader: false,
    genReqId: requestIdFor,
    // Request handlers log through the relay's logger with explicit fields; a child logger per
    // request (Fastify's default) costs more than it gives.
    childLoggerFactory: (logger) => logger,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: false,
    // HTTP framing errors (before any route) answer catalogue JSON too.
    clientErrorHandler: relayClientErrorHandler,
    // Node checks header and request timeouts of open sockets only this often (default 30 s):
    // a silent socket would otherwise hold its slot up to headersTimeout + 30 s.
    http: { connectionsCheckingInterval: config.connectionsCheckIntervalMs },
  });
  await app.register(relayApp, {
    config,
    store,
    clock: options.clock ?? systemClock,
    logger,
    drain: options.drain ?? new Drain(),
    plugins: options.plugins,
  });
  if (ownsStore) app.addHook('onClose', async () => store.close());
  return app as unknown as FastifyInstance;
}
