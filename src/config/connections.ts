// Sockets and their timeouts, per-source connection and held-poll shares (src/http/connection-guard.ts
// explains the defaults), and where the container's memory limit is read.
import { raw, readInts, type Env, type IntSettings } from './env.js';

export const CONNECTION_SETTINGS = {
  /**
   * Idle keep-alive of a socket from a client (not a trusted proxy). Browsers and nodes poll
   * every 0.5-2 s, so 5 s (Node's own default) keeps their socket; an idle one frees its slot
   * soon.
   */
  keepAliveTimeoutMs: { env: 'TOKENPLACE_RELAY_KEEPALIVE_TIMEOUT_MS', fallback: 5000, min: 1000, max: 600_000 },
  /**
   * Idle keep-alive of a socket from a trusted proxy: above Traefik's and cloudflared's 90 s
   * idle timeout for upstream connections, so the proxy, not the relay, closes an idle pooled
   * socket (a relay-side close racing a reused socket is a 502 for a POST).
   */
  proxyKeepAliveTimeoutMs: { env: 'TOKENPLACE_RELAY_PROXY_KEEPALIVE_TIMEOUT_MS', fallback: 95_000, min: 1000, max: 600_000 },
  headersTimeoutMs: { env: 'TOKENPLACE_RELAY_HEADERS_TIMEOUT_MS', fallback: 15_000, min: 1000, max: 600_000 },
  requestTimeoutMs: { env: 'TOKENPLACE_RELAY_REQUEST_TIMEOUT_MS', fallback: 30_000, min: 1000, max: 600_000 },
  /** How often Node checks the header and request timeouts of open sockets (its default: 30 s). */
  connectionsCheckIntervalMs: { env: 'TOKENPLACE_RELAY_CONNECTIONS_CHECK_INTERVAL_MS', fallback: 1000, min: 100, max: 30_000 },
  maxConnections: { env: 'TOKENPLACE_RELAY_MAX_CONNECTIONS', fallback: 20_000, min: 1, max: 1_000_000 },
  /**
   * Open sockets per source (IPv4 address, IPv6 /64). A browser opens at most 6 per origin, a
   * home runs a few nodes and a few browsers: 64 leaves room for a small NAT. The attacker's
   * 50 addresses hold 3,200 of the 20,000 slots. Trusted proxies are not limited here.
   */
  connectionsPerSource: { env: 'TOKENPLACE_RELAY_CONNECTIONS_PER_SOURCE', fallback: 64, min: 1, max: 1_000_000 },
  /**
   * Long-polls (/sink, /retrieve, API v1 poll and retrieve) one source may have held at once.
   * An honest node holds one poll, a chat client one retrieve: a home with several of each
   * holds < 10. 32 leaves room for a NAT; the attacker's 50 addresses hold 1,600.
   */
  heldPollsPerSource: { env: 'TOKENPLACE_RELAY_HELD_POLLS_PER_SOURCE', fallback: 32, min: 1, max: 1_000_000 },
} as const satisfies IntSettings;

export function readConnections(env: Env) {
  return {
    ...readInts(env, CONNECTION_SETTINGS),
    /** Where the container's memory limit is read at start (cgroup v2, else v1 below it). */
    cgroupDir: raw(env, 'TOKENPLACE_RELAY_CGROUP_DIR') ?? '/sys/fs/cgroup',
  };
}
