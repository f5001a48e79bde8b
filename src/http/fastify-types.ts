// Per-route settings the shared hooks read: the bounded metrics/log name, the error shape the
// route's peers expect, and whether successful calls stay out of the request log.
import type { ErrorStyle } from '../core/errors.js';
import type { RelayContext } from '../context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Route name for metrics and logs (bounded label). */
    name?: string;
    errorStyle?: ErrorStyle;
    /** Health, liveness and metrics: not logged per request. */
    quiet?: boolean;
  }
  interface FastifyInstance {
    relay: RelayContext;
  }
}

export {};
