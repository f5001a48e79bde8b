// Configuration is read from the environment once at start-up, checked, and frozen.
// A bad value stops the process with a message that names the variable (ConfigError).
import { isIP } from 'node:net';
import { BUDGET_NAMES, DEFAULT_BUDGETS, type BudgetName } from './limits/budgets.js';

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(name, `must be one of 1/0/true/false/yes/no/on/off, got ${JSON.stringify(value)}`);
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function port(name: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new ConfigError(name, `must be a TCP port (1-65535), got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function url(name: string, value: string, schemes: readonly string[]): URL {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `must be a URL, got ${JSON.stringify(value)}`);
  }
  if (!schemes.includes(parsed.protocol.replace(/:$/, ''))) {
    throw new ConfigError(name, `must use ${schemes.join(' or ')}, got ${parsed.protocol}`);
  }
  return parsed;
}

/** Tokens travel in an HTTP header, so only visible ASCII can ever match. */
function tokens(env: Env): string[] {
  const found: string[] = [];
  const single = raw(env, 'TOKEN_PLACE_RELAY_SERVER_TOKEN');
  if (single !== undefined) found.push(single);
  const list = raw(env, 'TOKEN_PLACE_RELAY_SERVER_TOKENS');
  if (list !== undefined) found.push(...list.split(',').map((t) => t.trim()).filter((t) => t !== ''));
  for (const token of found) {
    const variable = token === single ? 'TOKEN_PLACE_RELAY_SERVER_TOKEN' : 'TOKEN_PLACE_RELAY_SERVER_TOKENS';
    if (!/^[\x21-\x7e]+$/.test(token)) throw new ConfigError(variable, 'tokens must be visible ASCII without spaces');
    if (token.length > 512) throw new ConfigError(variable, 'a token must be at most 512 characters');
  }
  return [...new Set(found)];
}

/** CIDR list such as "10.42.0.0/16,127.0.0.1"; a bare address is a /32 or /128. */
function cidrs(env: Env, name: string): string[] {
  const value = raw(env, name);
  if (value === undefined) return [];
  return value.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const [address, bits, ...rest] = part.split('/');
    const family = isIP(address ?? '');
    const max = family === 6 ? 128 : 32;
    const okBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max);
    if (family === 0 || !okBits || rest.length > 0) throw new ConfigError(name, `not an IP address or CIDR: ${JSON.stringify(part)}`);
    return bits === undefined ? `${address}/${max}` : part;
  });
}

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

/** Command-line flags that override the environment (`--host`, `--port`). */
export interface CliOverrides {
  host?: string;
  port?: string;
}

export function loadConfig(env: Env = process.env, cli: CliOverrides = {}) {
  // Upstream GPU host (protocol.md §B.1): only reported by /healthz and optionally resolved.
  const upstreamRaw = raw(env, 'TOKENPLACE_RELAY_UPSTREAM_URL');
  const upstreamParsed = upstreamRaw === undefined ? undefined : url('TOKENPLACE_RELAY_UPSTREAM_URL', upstreamRaw, ['http', 'https']);
  const gpuHost = raw(env, 'TOKENPLACE_GPU_HOST') ?? raw(env, 'GPU_SERVER_HOST') ?? (upstreamParsed?.hostname || undefined) ?? 'gpu-server';
  const gpuPortVar = raw(env, 'TOKENPLACE_GPU_PORT') !== undefined ? 'TOKENPLACE_GPU_PORT' : raw(env, 'GPU_SERVER_PORT') !== undefined ? 'GPU_SERVER_PORT' : undefined;
  const gpuPort = gpuPortVar !== undefined ? port(gpuPortVar, raw(env, gpuPortVar)!) : upstreamParsed?.port ? Number(upstreamParsed.port) : 3000;
  const upstreamUrl = upstreamRaw ?? `http://${gpuHost}:${gpuPort}`;

  const host = cli.host ?? raw(env, 'RELAY_HOST') ?? '127.0.0.1';
  const listenPort = cli.port !== undefined ? port('--port', cli.port) : raw(env, 'RELAY_PORT') !== undefined ? port('RELAY_PORT', raw(env, 'RELAY_PORT')!) : 5010;

  // Metrics on their own port keep /metrics off whatever the Ingress routes to the main port.
  const metricsPortRaw = raw(env, 'TOKENPLACE_METRICS_PORT');
  const metricsPort = metricsPortRaw === undefined ? null : port('TOKENPLACE_METRICS_PORT', metricsPortRaw);
  if (metricsPort !== null && metricsPort === listenPort) {
    throw new ConfigError('TOKENPLACE_METRICS_PORT', `must differ from the relay port ${listenPort}`);
  }

  const storeType = oneOf(env, 'TOKENPLACE_RELAY_STORE', 'memory', ['memory', 'redis'] as const);
  const redisUrlRaw = raw(env, 'TOKENPLACE_REDIS_URL');
  if (storeType === 'redis' && redisUrlRaw === undefined) {
    throw new ConfigError('TOKENPLACE_REDIS_URL', 'is required when TOKENPLACE_RELAY_STORE=redis');
  }
  const redisUrl = redisUrlRaw === undefined ? null : url('TOKENPLACE_REDIS_URL', redisUrlRaw, ['redis', 'rediss']).toString();

  const sinkHoldMs = int(env, 'TOKENPLACE_RELAY_SINK_HOLD_MS', 5000, 0, 9000);
  const v1LeaseSeconds = int(env, 'TOKEN_PLACE_API_V1_RELAY_SERVER_LEASE_SECONDS', 30, 1, 3600);
  const config = {
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
    drainSeconds: int(env, 'TOKENPLACE_RELAY_DRAIN_SECONDS', 20, 0, 600),
    /** After SIGTERM, keep answering (readiness 503) this long before closing the listener. */
    drainLingerMs: int(env, 'TOKENPLACE_RELAY_DRAIN_LINGER_MS', 1000, 0, 60_000),
    legacyRoutes: bool(env, 'TOKENPLACE_ENABLE_LEGACY_RELAY_ROUTES', true),

    // Long-poll holds: below the upstream node's and clients' 10 s request timeouts.
    sinkHoldMs,
    retrieveHoldMs: int(env, 'TOKENPLACE_RELAY_RETRIEVE_HOLD_MS', 5000, 0, 9000),
    /** `next_ping_in_x_seconds` when the hold is off (upstream's constant was 10). */
    pingIntervalSeconds: int(env, 'TOKENPLACE_RELAY_PING_INTERVAL_SECONDS', 10, 1, 300),
    /** A node is dropped after this many ping intervals of silence. */
    nodeExpiryPings: int(env, 'TOKENPLACE_RELAY_NODE_EXPIRY_PINGS', 3, 1, 100),

    requestTtlSeconds: int(env, 'TOKENPLACE_RELAY_REQUEST_TTL_SECONDS', 300, 1, 86_400),
    responseTtlSeconds: int(env, 'TOKENPLACE_RELAY_RESPONSE_TTL_SECONDS', 120, 1, 86_400),
    streamTtlSeconds: int(env, 'TOKENPLACE_RELAY_STREAM_TTL_SECONDS', 300, 1, 86_400),

    maxNodes: int(env, 'TOKENPLACE_RELAY_MAX_NODES', 1000, 1, 1_000_000),
    maxQueuePerNode: int(env, 'TOKENPLACE_RELAY_MAX_QUEUE_PER_NODE', 100, 1, 1_000_000),
    maxQueuePerClient: int(env, 'TOKENPLACE_RELAY_MAX_QUEUE_PER_CLIENT', 8, 1, 1_000_000),
    maxQueuedTotal: int(env, 'TOKENPLACE_RELAY_MAX_QUEUED', 10_000, 1, 10_000_000),
    maxResponses: int(env, 'TOKENPLACE_RELAY_MAX_RESPONSES', 10_000, 1, 10_000_000),
    maxStreamSessions: int(env, 'TOKENPLACE_RELAY_MAX_STREAMS', 1000, 1, 1_000_000),
    maxStreamChunks: int(env, 'TOKENPLACE_RELAY_MAX_STREAM_CHUNKS', 4096, 1, 1_000_000),
    maxStoredBytes: int(env, 'TOKENPLACE_RELAY_MAX_STORED_BYTES', 256 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    // Per-source shares (a source = an IPv4 address or IPv6 /64). The threat model's attacker has
    // 20-50 addresses; an honest home runs a few nodes and one chat at a time. Each default lets
    // one source hold far more than an honest home needs while 50 sources together still leave
    // room under the cap (or, for bytes, stay within it at 32 sources).
    /** 8 MiB: eight full 1 MiB requests or answers in flight for one address. */
    maxStoredBytesPerSource: int(env, 'TOKENPLACE_RELAY_MAX_STORED_BYTES_PER_SOURCE', 8 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    /** 16 legacy node keys per address: 50 addresses hold at most 800 of the default 1000. */
    maxNodesPerSource: int(env, 'TOKENPLACE_RELAY_MAX_NODES_PER_SOURCE', 16, 1, 1_000_000),
    /** One address fills at most a sixth of one node's default queue of 100. */
    maxQueuePerNodePerSource: int(env, 'TOKENPLACE_RELAY_MAX_QUEUE_PER_NODE_PER_SOURCE', 16, 1, 1_000_000),
    /** 100 queued requests per address: 50 addresses hold half the default total of 10,000. */
    maxQueuedPerSource: int(env, 'TOKENPLACE_RELAY_MAX_QUEUED_PER_SOURCE', 100, 1, 10_000_000),
    /** Answers are charged to the answering node's address: a busy home node serving many clients. */
    maxResponsesPerSource: int(env, 'TOKENPLACE_RELAY_MAX_RESPONSES_PER_SOURCE', 200, 1, 10_000_000),
    /** Stream sessions are charged to the requesting client's address: one chat at a time. */
    maxStreamSessionsPerSource: int(env, 'TOKENPLACE_RELAY_MAX_STREAMS_PER_SOURCE', 8, 1, 1_000_000),
    /** Door limits for /stream/source chunks: JSON text length and nesting depth. */
    maxChunkBytes: int(env, 'TOKENPLACE_RELAY_MAX_CHUNK_BYTES', 64 * 1024, 64, 64 * 1024 * 1024),
    maxChunkDepth: int(env, 'TOKENPLACE_RELAY_MAX_CHUNK_DEPTH', 32, 1, 1000),
    maxBodyBytes: int(env, 'TOKENPLACE_RELAY_MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxKeyChars: int(env, 'TOKENPLACE_RELAY_MAX_KEY_CHARS', 4096, 64, 65_536),
    sweepIntervalMs: int(env, 'TOKENPLACE_RELAY_SWEEP_INTERVAL_MS', 1000, 10, 60_000),

    // API v1 relay protocol (protocol.md §E.3): upstream's variable names where it has one.
    /** Registration lease: register and poll renew it; a node that lets it lapse is evicted. */
    v1LeaseSeconds,
    /** How long an idle poll is held open (the node's poll timeout is this + 5 s). */
    v1PollWaitSeconds: int(env, 'TOKEN_PLACE_API_V1_RELAY_POLL_WAIT_SECONDS', 10, 0, 60),
    /** In-flight accounting lease of a claimed request, renewed by control polls. */
    v1InflightLeaseSeconds: int(env, 'TOKEN_PLACE_API_V1_IN_FLIGHT_TTL_SECONDS', v1LeaseSeconds, 1, 3600),
    /** Absolute per-request deadline, set at admission. */
    v1RequestDeadlineSeconds: int(env, 'TOKEN_PLACE_API_V1_REQUEST_DEADLINE_SECONDS', 480, 1, 3600),
    v1ResponseTtlSeconds: int(env, 'TOKENPLACE_API_V1_RESPONSE_TTL_SECONDS', 300, 1, 86_400),
    v1TerminalTtlSeconds: int(env, 'TOKENPLACE_TERMINAL_REQUEST_TTL_SECONDS', 300, 1, 86_400),
    v1ControlTombstoneTtlSeconds: int(env, 'TOKEN_PLACE_API_V1_CONTROL_TOMBSTONE_TTL_SECONDS', 60, 1, 300),
    v1MaxQueuePerNode: int(env, 'TOKEN_PLACE_API_V1_MAX_QUEUE_DEPTH_PER_NODE', 1024, 1, 1_000_000),
    v1MaxRequests: int(env, 'TOKENPLACE_API_V1_MAX_REQUESTS', 10_000, 1, 10_000_000),
    v1MaxTombstones: int(env, 'TOKENPLACE_API_V1_MAX_TOMBSTONES', 20_000, 1, 10_000_000),
    // Per-source shares of the v1 caps (defaults and why: src/protocols/v1/limits.ts).
    v1MaxNodesPerSource: int(env, 'TOKENPLACE_API_V1_MAX_NODES_PER_SOURCE', 16, 1, 1_000_000),
    v1MaxQueuePerNodePerSource: int(env, 'TOKENPLACE_API_V1_MAX_QUEUE_PER_NODE_PER_SOURCE', 16, 1, 1_000_000),
    v1MaxRequestsPerSource: int(env, 'TOKENPLACE_API_V1_MAX_REQUESTS_PER_SOURCE', 100, 1, 10_000_000),
    // Public release metadata (/api/v1/meta, /api/v1/version).
    releaseVersion: raw(env, 'TOKENPLACE_RELEASE_VERSION') ?? null,
    deployEnvironment: raw(env, 'TOKENPLACE_DEPLOY_ENV') ?? null,
    gitSha: raw(env, 'TOKENPLACE_GIT_SHA') ?? null,
    imageTag: raw(env, 'TOKENPLACE_IMAGE_TAG') ?? null,

    // Connections (src/http/connection-guard.ts explains the defaults).
    /**
     * Idle keep-alive of a socket from a client (not a trusted proxy). Browsers and nodes poll
     * every 0.5-2 s, so 5 s (Node's own default) keeps their socket; an idle one frees its slot
     * soon.
     */
    keepAliveTimeoutMs: int(env, 'TOKENPLACE_RELAY_KEEPALIVE_TIMEOUT_MS', 5000, 1000, 600_000),
    /**
     * Idle keep-alive of a socket from a trusted proxy: above Traefik's and cloudflared's 90 s
     * idle timeout for upstream connections, so the proxy, not the relay, closes an idle pooled
     * socket (a relay-side close racing a reused socket is a 502 for a POST).
     */
    proxyKeepAliveTimeoutMs: int(env, 'TOKENPLACE_RELAY_PROXY_KEEPALIVE_TIMEOUT_MS', 95_000, 1000, 600_000),
    headersTimeoutMs: int(env, 'TOKENPLACE_RELAY_HEADERS_TIMEOUT_MS', 15_000, 1000, 600_000),
    requestTimeoutMs: int(env, 'TOKENPLACE_RELAY_REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000),
    /** How often Node checks the header and request timeouts of open sockets (its default: 30 s). */
    connectionsCheckIntervalMs: int(env, 'TOKENPLACE_RELAY_CONNECTIONS_CHECK_INTERVAL_MS', 1000, 100, 30_000),
    maxConnections: int(env, 'TOKENPLACE_RELAY_MAX_CONNECTIONS', 20_000, 1, 1_000_000),
    /**
     * Open sockets per source (IPv4 address, IPv6 /64). A browser opens at most 6 per origin, a
     * home runs a few nodes and a few browsers: 64 leaves room for a small NAT. The attacker's
     * 50 addresses hold 3,200 of the 20,000 slots. Trusted proxies are not limited here.
     */
    connectionsPerSource: int(env, 'TOKENPLACE_RELAY_CONNECTIONS_PER_SOURCE', 64, 1, 1_000_000),
    /**
     * Long-polls (/sink, /retrieve, API v1 poll and retrieve) one source may have held at once.
     * An honest node holds one poll, a chat client one retrieve: a home with several of each
     * holds < 10. 32 leaves room for a NAT; the attacker's 50 addresses hold 1,600.
     */
    heldPollsPerSource: int(env, 'TOKENPLACE_RELAY_HELD_POLLS_PER_SOURCE', 32, 1, 1_000_000),
    /** Where the container's memory limit is read at start (cgroup v2, else v1 below it). */
    cgroupDir: raw(env, 'TOKENPLACE_RELAY_CGROUP_DIR') ?? '/sys/fs/cgroup',

    trustedProxies: cidrs(env, 'TOKENPLACE_TRUSTED_PROXIES'),
    // Rate limits (src/limits/budgets.ts explains the defaults).
    rateLimit: bool(env, 'TOKENPLACE_RATE_LIMIT', true),
    rateLimits: rateBudgets(env),
    rateLimitMaxKeys: int(env, 'TOKENPLACE_RATE_LIMIT_MAX_KEYS', 100_000, 100, 10_000_000),
    /** Operations endpoints are never limited from here (the trusted proxies are added too). */
    clusterInternal: raw(env, 'TOKENPLACE_CLUSTER_INTERNAL_CIDRS') === undefined ? DEFAULT_CLUSTER_INTERNAL : cidrs(env, 'TOKENPLACE_CLUSTER_INTERNAL_CIDRS'),

    store: storeType,
    redisUrl,
    redisPassword: raw(env, 'TOKENPLACE_REDIS_PASSWORD') ?? null,
    redisPrefix: raw(env, 'TOKENPLACE_REDIS_PREFIX') ?? 'tokenplace:relay:v1:',
    /** Redis store: give up on a connection attempt / a command after this long (fail fast, 503). */
    redisConnectTimeoutMs: int(env, 'TOKENPLACE_REDIS_CONNECT_TIMEOUT_MS', 2000, 100, 60_000),
    redisCommandTimeoutMs: int(env, 'TOKENPLACE_REDIS_COMMAND_TIMEOUT_MS', 2000, 100, 60_000),
  };
  if (config.host.length === 0) throw new ConfigError('RELAY_HOST', 'must not be empty');
  return Object.freeze(config);
}

export type Config = ReturnType<typeof loadConfig>;

/** Config for tests and embedding: defaults plus explicit overrides, still frozen. */
export function configWith(overrides: Partial<Config> = {}, env: Env = {}): Config {
  return Object.freeze({ ...loadConfig(env), ...overrides });
}
