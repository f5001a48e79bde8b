// Rate-limit metrics on the relay's registry. Labels are bounded: budget names from
// src/limits/budgets.ts and the kind of key a bucket was keyed on, never a key or an address.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ForgetCause } from './memory-counter.js';
import type { RateCounter } from './rate-counter.js';

export type LimitedReason = 'address' | 'client_key' | 'node_key';

export interface LimitMetrics {
  limited(budget: string, reason: LimitedReason): void;
  forgotten(cause: ForgetCause, count: number): void;
  counterError(): void;
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
