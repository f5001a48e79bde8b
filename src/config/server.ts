// The listener and what the relay reports about itself: host and port, the metrics listener,
// the upstream GPU host (/healthz), compute-node tokens, logging, drain and release metadata.
import { bool, ConfigError, oneOf, port, raw, readInts, tokens, url, type Env, type IntSettings } from './env.js';

/** Command-line flags that override the environment (`--host`, `--port`). */
export interface CliOverrides {
  host?: string;
  port?: string;
}

export const SERVER_SETTINGS = {
  drainSeconds: { env: 'TOKENPLACE_RELAY_DRAIN_SECONDS', fallback: 20, min: 0, max: 600 },
  /** After SIGTERM, keep answering (readiness 503) this long before closing the listener. */
  drainLingerMs: { env: 'TOKENPLACE_RELAY_DRAIN_LINGER_MS', fallback: 1000, min: 0, max: 60_000 },
} as const satisfies IntSettings;

export function readServer(env: Env, cli: CliOverrides) {
  // Upstream GPU host (protocol.md §B.1): only reported by /healthz and optionally resolved.
  const upstreamRaw = raw(env, 'TOKENPLACE_RELAY_UPSTREAM_URL');
  const upstreamParsed = upstreamRaw === undefined ? undefined : url('TOKENPLACE_RELAY_UPSTREAM_URL', upstreamRaw, ['http', 'https']);
  const gpuHost = raw(env, 'TOKENPLACE_GPU_HOST') ?? raw(env, 'GPU_SERVER_HOST') ?? (upstreamParsed?.hostname || undefined) ?? 'gpu-server';
  const gpuPortVar =
    raw(env, 'TOKENPLACE_GPU_PORT') !== undefined ? 'TOKENPLACE_GPU_PORT' : raw(env, 'GPU_SERVER_PORT') !== undefined ? 'GPU_SERVER_PORT' : undefined;
  const gpuPort = gpuPortVar !== undefined ? port(gpuPortVar, raw(env, gpuPortVar)!) : upstreamParsed?.port ? Number(upstreamParsed.port) : 3000;
  const upstreamUrl = upstreamRaw ?? `http://${gpuHost}:${gpuPort}`;

  const host = cli.host ?? raw(env, 'RELAY_HOST') ?? '127.0.0.1';
  const listenPort =
    cli.port !== undefined ? port('--port', cli.port) : raw(env, 'RELAY_PORT') !== undefined ? port('RELAY_PORT', raw(env, 'RELAY_PORT')!) : 5010;

  // Metrics on their own port keep /metrics off whatever the Ingress routes to the main port.
  const metricsPortRaw = raw(env, 'TOKENPLACE_METRICS_PORT');
  const metricsPort = metricsPortRaw === undefined ? null : port('TOKENPLACE_METRICS_PORT', metricsPortRaw);
  if (metricsPort !== null && metricsPort === listenPort) {
    throw new ConfigError('TOKENPLACE_METRICS_PORT', `must differ from the relay port ${listenPort}`);
  }

  if (host.length === 0) throw new ConfigError('RELAY_HOST', 'must not be empty');
  return {
    host,
    port: listenPort,
    upstreamUrl,
    gpuHost,
    gpuPort,
    requireUpstreamHealth: bool(env, 'TOKENPLACE_RELAY_REQUIRE_UPSTREAM_HEALTH', false),
    serverTokens: tokens(env),
    metricsToken: raw(env, 'TOKENPLACE_METRICS_TOKEN') ?? null,
    /** null: /metrics is served on the relay port; a number: only there, and 404 on the relay port. */
    metricsPort: metricsPort,
    logLevel: oneOf(env, 'TOKENPLACE_LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    ...readInts(env, SERVER_SETTINGS),
    legacyRoutes: bool(env, 'TOKENPLACE_ENABLE_LEGACY_RELAY_ROUTES', true),
    // Public release metadata (/api/v1/meta, /api/v1/version).
    releaseVersion: raw(env, 'TOKENPLACE_RELEASE_VERSION') ?? null,
    deployEnvironment: raw(env, 'TOKENPLACE_DEPLOY_ENV') ?? null,
    gitSha: raw(env, 'TOKENPLACE_GIT_SHA') ?? null,
    imageTag: raw(env, 'TOKENPLACE_IMAGE_TAG') ?? null,
    /** The source revision for tokenplace_build_info (else TOKENPLACE_GIT_SHA, else a sha-<hex> image tag). */
    buildRevision: raw(env, 'TOKENPLACE_BUILD_REVISION') ?? null,
  };
}
