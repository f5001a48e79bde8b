// Owns the socket, its timeouts and the process signals. On SIGTERM/SIGINT: readiness turns 503
// at once, held polls answer, in-flight requests finish, then the process exits 0 — forced
// closed at the drain deadline at the latest.
import { getHeapStatistics } from 'node:v8';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, type AppOptions } from './app.js';
import type { Config } from './config.js';
import { Drain } from './core/drain.js';
import { planFor } from './memory/fit.js';
import { AddressSet } from './http/client-address.js';
import { ConnectionGuard } from './http/connection-guard.js';
import { guardMetrics } from './limits/limit-metrics.js';
import { installErrorHandling } from './http/errors-plugin.js';
import { createLogger } from './core/logger.js';
import { boundHeapGrowth } from './memory/heap-growth.js';
import { metricsRoute } from './ops/routes.js';
import { createStore } from './store/registry.js';

/**
 * A listener could not be opened (port taken, no permission, no such address). The CLI turns it
 * into one line naming the flag or variable to change; embedders get the fields.
 */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    /** `relay`: the main port (RELAY_PORT / --port); `metrics`: TOKENPLACE_METRICS_PORT. */
    readonly listener: 'relay' | 'metrics',
    readonly host: string,
    readonly port: number,
    /** Node's error code: EADDRINUSE, EACCES, EADDRNOTAVAIL, ... */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function listenOn(app: FastifyInstance, listener: 'relay' | 'metrics', host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code) && !code.startsWith('ERR_')) {
      throw new ListenError(listener, host, port, code, (err as Error).message);
    }
    throw err;
  }
}

export interface RunningRelay {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly drain: Drain;
  /** Socket admission (counts for tests and the metrics). */
  readonly guard: ConnectionGuard;
  /** The metrics listener's URL when TOKENPLACE_METRICS_PORT is set, else null. */
  readonly metricsUrl: string | null;
  /** Drain then close: readiness 503, holds answered, in-flight finished, listener closed. */
  shutdown(reason: string): Promise<void>;
}

/**
 * The configuration with its byte cap fitted to the pod (src/memory/fit.ts), and the one log
 * line that says what was chosen. Done here, not in loadConfig: the configuration is a pure
 * function of the environment (tests and embedders build it anywhere), while the cgroup limit
 * and the heap limit belong to the running process, and this is where it meets its container.
 */
export function fitConfigToMemory(config: Config, logger: Logger, heapLimitBytes = getHeapStatistics().heap_size_limit): Config {
  const plan = planFor(config, heapLimitBytes);
  const fields = {
    store: config.store,
    memory_limit_bytes: plan.limitBytes,
    heap_limit_bytes: plan.heapLimitBytes,
    overhead_bytes: plan.overheadBytes,
    configured_max_stored_bytes: plan.configuredStoredBytes,
    max_stored_bytes: plan.chosenStoredBytes,
    lowered: plan.lowered,
  };
  if (plan.entryCapsTooLarge) logger.warn({ ...fields, entry_caps_too_large: true }, 'memory.fit');
  else if (plan.lowered) logger.warn(fields, 'memory.fit');
  else logger.info(fields, 'memory.fit');
  return plan.lowered ? Object.freeze({ ...config, maxStoredBytes: plan.chosenStoredBytes }) : config;
}

export async function startServer(options: Omit<AppOptions, 'drain'>): Promise<RunningRelay> {
  const logger = options.logger ?? createLogger(options.config.logLevel);
  // Held polls and (with the memory store) every entry live on this heap: bound its garbage.
  boundHeapGrowth();
  const config = fitConfigToMemory(options.config, logger);
  options = { ...options, config };
  const ownsStore = options.store === undefined;
  const store = options.store ?? (await createStore(config));
  const drain = new Drain();
  const app = await buildApp({ ...options, store, logger, drain });
  if (ownsStore) app.addHook('onClose', async () => store.close());

  const server = app.server;
  // Slow or silent clients lose their socket instead of holding it forever: Node checks these
  // every connectionsCheckIntervalMs (src/app.ts), so a silent socket holds its slot at most
  // headersTimeout + that interval.
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  // Open sockets: per-source share, idle-first closing near the cap, the cap itself, and the
  // keep-alive times (src/http/connection-guard.ts). Node's own maxConnections stays unset: it
  // drops sockets without an answer and before idle ones could make room.
  const guard = new ConnectionGuard({
    maxConnections: config.maxConnections,
    perSource: config.connectionsPerSource,
    trusted: new AddressSet(config.trustedProxies),
    clientKeepAliveMs: config.keepAliveTimeoutMs,
    proxyKeepAliveMs: config.proxyKeepAliveTimeoutMs,
    metrics: guardMetrics(app.relay.metrics.registry),
  });
  guard.attach(server);

  try {
    await listenOn(app, 'relay', config.host, config.port);
  } catch (err) {
    await app.close(); // the store's connections would keep the process alive
    throw err;
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;

  // A second listener serving only /metrics: the Service names it `metrics`, the Ingress never
  // routes to it, and the NetworkPolicy admits only the scraper to it (so no rate budget here).
  let metricsApp: FastifyInstance | null = null;
  let metricsUrl: string | null = null;
  if (config.metricsPort !== null) {
    metricsApp = Fastify({ logger: false, return503OnClosing: false });
    installErrorHandling(metricsApp);
    metricsRoute(metricsApp, app.relay);
    try {
      await listenOn(metricsApp, 'metrics', config.host, config.metricsPort);
    } catch (err) {
      await metricsApp.close();
      await app.close();
      throw err;
    }
    const metricsAddress = metricsApp.server.address();
    metricsUrl = `${url.replace(/:\d+$/, '')}:${typeof metricsAddress === 'object' && metricsAddress !== null ? metricsAddress.port : config.metricsPort}`;
  }

  let shuttingDown: Promise<void> | null = null;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      const started = Date.now();
      drain.start();
      logger.info({ reason, drain_seconds: config.drainSeconds }, 'relay.shutdown.signal');
      const deadlineMs = config.drainSeconds * 1000;
      const force = setTimeout(() => {
        logger.warn({ open_connections: 'closing' }, 'relay.shutdown.deadline');
        server.closeAllConnections();
      }, deadlineMs);
      force.unref();
      // Let probes and pollers see "draining" before the listener goes away.
      await new Promise((resolve) => setTimeout(resolve, Math.min(config.drainLingerMs, deadlineMs)));
      await app.close();
      await metricsApp?.close();
      clearTimeout(force);
      logger.info({ duration_ms: Date.now() - started }, 'relay.shutdown.complete');
    })();
    return shuttingDown;
  };

  return { url, app, drain, guard, metricsUrl, shutdown };
}

/** SIGTERM/SIGINT drain the relay and exit 0; a second signal exits at once. */
export function exitOnSignals(relay: RunningRelay, logger: Logger, beforeExit: () => Promise<void> = async () => {}): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) {
      logger.warn({ signal }, 'relay.shutdown.forced');
      process.exit(1);
    }
    received = true;
    void Promise.all([relay.shutdown(signal), beforeExit()])
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err: err instanceof Error ? { type: err.name, message: err.message } : { type: typeof err } }, 'relay.shutdown.failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
