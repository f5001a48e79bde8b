// Rate-limit metrics on the relay's registry. Labels are bounded: budget names from
// src/limits/budgets.ts and the kind of key a bucket was keyed on, never a key or an address.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ForgetCause } from './memory-counter.js';
import type { RateCounter } from './rate-counter.js';

export type LimitedReason = 'address' | 'client_key' | 'node_key';

export interface LimitMetrics {
  limited: (budget: string, reason: LimitedReason) => void;
  forgotten: (cause: ForgetCause, count: number) => void;
  counterError: () => void;
}

export function createLimitMetrics(registry: Registry, counter: () => RateCounter | undefined): LimitMetrics {
  const limited = new Counter({
    name: 'tokenplace_relay_rate_limited_total',
    help: 'Requests refused with 429 rate_limited, by budget and by what the bucket is keyed on.',
    labelNames: ['budget', 'reason'] as const,
    registers: [registry],
  });
  const forgotten = new Counter({
    name: 'tokenplace_relay_rate_limit_forgotten_total',
    help: 'Rate-limit buckets dropped from memory: expired (full again) or evicted (max keys reached; those limits restart full).',
    labelNames: ['cause'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'tokenplace_relay_rate_limit_errors_total',
    help: 'Rate-limit checks that failed (counter backend unreachable); the request was let through.',
    registers: [registry],
  });
  new Gauge({
    name: 'tokenplace_relay_rate_limit_keys',
    help: 'Rate-limit buckets tracked in this process (memory counter).',
    registers: [registry],
    collect() {
      const tracked = counter()?.trackedKeys?.();
      if (tracked !== undefined) this.set(tracked);
    },
  });
  return {
    limited: (budget, reason) => limited.inc({ budget, reason }),
    forgotten: (cause, count) => forgotten.inc({ cause }, count),
    counterError: () => errors.inc(),
  };
}

/** Refusals made before or around a route: socket admission, held polls, HTTP framing errors. */
export type GuardRefusal =
  'source_connections' | 'relay_connections' | 'idle_evicted' | 'source_held_polls' | 'malformed_http_request' | 'header_fields_too_large' | 'request_timeout';

export interface GuardMetrics {
  refused(kind: GuardRefusal): void;
  setOpenConnections(count: number): void;
  setHeldPolls(count: number): void;
}

const guardByRegistry = new WeakMap<Registry, GuardMetrics>();

/**
 * Metrics of the connection guard (src/http/connection-guard.ts), the held-poll share
 * (src/http/held-polls.ts) and the client-error answers (src/http/client-error.ts). One set per
 * registry, whoever asks first creates it. Labels are the fixed kinds above, never an address.
 */
export function guardMetrics(registry: Registry): GuardMetrics {
  const known = guardByRegistry.get(registry);
  if (known !== undefined) return known;
  const refused = new Counter({
    name: 'tokenplace_relay_http_refused_total',
    help: 'Connections and requests refused or closed by the HTTP guards, by kind (source share, relay cap, idle socket closed near the cap, held-poll share, HTTP framing errors).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const open = new Gauge({ name: 'tokenplace_relay_open_connections', help: 'Open client sockets on this replica.', registers: [registry] });
  const held = new Gauge({ name: 'tokenplace_relay_held_polls', help: 'Long-polls held open on this replica.', registers: [registry] });
  const made: GuardMetrics = {
    refused: (kind) => refused.inc({ kind }),
    setOpenConnections: (count) => open.set(count),
    setHeldPolls: (count) => held.set(count),
  };
  guardByRegistry.set(registry, made);
  return made;
}
