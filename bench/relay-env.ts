// The environments the bench starts relays with, and the check that the relay will run them as
// written. A relay fits its byte cap to its heap and cgroup (src/memory/fit.ts): entry caps
// raised past what the heap could hold make it lower the byte cap, down to a 1 MiB floor, and a
// bench step would then measure a relay that refuses for want of bytes, not the one it meant to.
import { getHeapStatistics } from 'node:v8';
import { loadConfig } from '../src/config.js';
import { planFor, type MemoryPlan } from '../src/memory/fit.js';

/**
 * Every simulated peer comes from 127.0.0.1, so the per-address rate-limit budgets are raised far
 * above what the bench sends: the limiter still runs (its cost is measured) but never refuses.
 */
const RATE_BUDGETS = ['CLIENT', 'SUBMIT', 'CLIENT_KEY', 'NODE_ADDRESS', 'NODE', 'OPS'];
export const NO_REFUSALS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    RATE_BUDGETS.flatMap((b) => [
      [`TOKENPLACE_RATE_LIMIT_${b}_PER_MINUTE`, '10000000'],
      [`TOKENPLACE_RATE_LIMIT_${b}_BURST`, '10000000'],
    ]),
  ),
  // The per-source shares of sockets and held polls likewise: the bench is one source.
  TOKENPLACE_RELAY_CONNECTIONS_PER_SOURCE: '1000000',
  TOKENPLACE_RELAY_HELD_POLLS_PER_SOURCE: '1000000',
};

/**
 * Caps raised so one simulated peer per key never trips them, and the legacy node share raised
 * past the cadence step's 100 nodes (all from 127.0.0.1; the default share of 16 refused the
 * rest with 429 source_node_share_exceeded).
 */
export const CYCLE_ENV: Readonly<Record<string, string>> = {
  TOKENPLACE_RELAY_MAX_QUEUE_PER_CLIENT: '64',
  TOKENPLACE_RELAY_MAX_QUEUE_PER_NODE: '10000',
  TOKENPLACE_RELAY_MAX_NODES_PER_SOURCE: '1000',
};
/** The most simulated nodes one step registers from the one source (step 2b, real cadences). */
export const MAX_BENCH_NODES = 100;

/**
 * API v1 caps raised for the flat-out cycle: every simulated peer is 127.0.0.1, so the per-source
 * shares are raised to the caps. The tombstone cap is left at its default: tombstones are never
 * refused (the oldest is dropped at the cap), and each one counts 2.8 KB against the heap in the
 * fit, so raising it only shrinks the byte cap. Tombstones count against their source's byte
 * share, though: at the cycle's flat-out rate from one source they fill the default 8 MiB share
 * within seconds (429 source_bytes_share_exceeded), where a real source, held to the `submit`
 * budget (300/min), keeps ~1,500 of them (< 1 MB). So the share is the whole byte cap here.
 */
export const V1_CYCLE_ENV: Readonly<Record<string, string>> = {
  TOKENPLACE_RELAY_MAX_STORED_BYTES_PER_SOURCE: String(256 * 1024 * 1024),
  TOKENPLACE_API_V1_MAX_QUEUE_PER_NODE_PER_SOURCE: '10000',
  TOKENPLACE_API_V1_MAX_REQUESTS_PER_SOURCE: '10000',
  TOKENPLACE_API_V1_MAX_NODES_PER_SOURCE: '1000',
};

/** What the relay's memory fit makes of `env` on a process with this heap limit (the bench's own, by default). */
export function fitOf(env: Record<string, string | undefined>, heapLimitBytes = getHeapStatistics().heap_size_limit): MemoryPlan {
  return planFor(loadConfig(env), heapLimitBytes);
}

/**
 * A flood of `n` requests and `n` responses from one source that nothing claims (steps 3 and 5,
 * bench/heap-probe.ts): caps and that source's shares hold all of it, nodes only announce
 * themselves (no hold on /sink) and stay known throughout.
 */
export function floodEnv(n: number): Record<string, string> {
  const entries = String(n * 2);
  const bytes = String(4 * 1024 * 1024 * 1024);
  return {
    TOKENPLACE_RELAY_MAX_QUEUED: entries,
    TOKENPLACE_RELAY_MAX_RESPONSES: entries,
    TOKENPLACE_RELAY_MAX_QUEUE_PER_NODE: entries,
    TOKENPLACE_RELAY_MAX_QUEUE_PER_CLIENT: '8',
    TOKENPLACE_RELAY_MAX_STORED_BYTES: bytes,
    TOKENPLACE_RELAY_MAX_QUEUED_PER_SOURCE: entries,
    TOKENPLACE_RELAY_MAX_RESPONSES_PER_SOURCE: entries,
    TOKENPLACE_RELAY_MAX_QUEUE_PER_NODE_PER_SOURCE: entries,
    TOKENPLACE_RELAY_MAX_STORED_BYTES_PER_SOURCE: bytes,
    TOKENPLACE_RELAY_SINK_HOLD_MS: '0',
    TOKENPLACE_RELAY_PING_INTERVAL_SECONDS: '300',
  };
}
