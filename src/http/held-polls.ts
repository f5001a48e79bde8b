// Long-polls held per source (invariant 1: held polls are a cap anyone can fill). A held poll
// keeps a socket, a request and a store waiter for up to its hold time; one source may have at
// most TOKENPLACE_RELAY_HELD_POLLS_PER_SOURCE of them in progress at once, counted from the
// moment the request reaches its route until its response closes.
//
// Over the share the poll is refused, 429 `source_held_polls_exceeded` with Retry-After, before
// its body is read. Refusing rather than answering "nothing yet" without holding: an unheld
// empty answer tells the upstream node to poll again at once (next_ping_in_x_seconds is 0
// while holds are on) and turns the excess into a busy loop, whereas every real peer backs off
// on a non-200 (the Dec 2025 node sleeps 10 s, the clients retry after 2 s, the API v1 node
// backs off). An honest source holds one poll per node and one per chat, far below the share.
//
// The routes that hold are those whose domain call goes through src/core/hold.ts: legacy
// /sink and /retrieve, API v1 servers/poll and responses/retrieve. They are marked here by
// route name (config.heldPoll), so the route modules need not change; a route may also set
// `heldPoll: true` in its config itself.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RelayError } from '../core/errors.js';
import { guardMetrics } from '../limits/limit-metrics.js';
import { SourceLedger } from '../core/source-ledger.js';
import { addressLimitKey } from './client-address.js';
import { sendError } from './errors-plugin.js';
import { CallerGone } from './caller-gone.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route long-polls (src/core/hold.ts): counted against the source's held-poll share. */
    heldPoll?: boolean;
  }
}

/** Route names (config.name) whose handlers hold the request open waiting for work or an answer. */
export const HELD_POLL_ROUTES: ReadonlySet<string> = new Set(['sink', 'retrieve', 'v1_servers_poll', 'v1_responses_retrieve']);

export const heldPollsPlugin = fp(
  async (app: FastifyInstance) => {
    const { config, metrics } = app.relay;
    const guard = guardMetrics(metrics.registry);
    const held = new SourceLedger(Number.MAX_SAFE_INTEGER, config.heldPollsPerSource);
    app.decorateRequest('callerGone', null);

    app.addHook('onRoute', (route) => {
      const name = route.config?.name;
      if (name !== undefined && HELD_POLL_ROUTES.has(name)) route.config = { ...route.config, heldPoll: true };
    });

    app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
      if (request.routeOptions.config?.heldPoll !== true) return done();
      const source = addressLimitKey(request.clientAddress);
      if (!held.fits(source, 1)) {
        guard.refused('source_held_polls');
        sendError(request, reply, new RelayError('source_held_polls_exceeded'));
        return;
      }
      held.add(source, 1);
      guard.setHeldPolls(held.total);
      // The share is released from the caller-gone signal's own 'close' listener: one per held poll.
      request.callerGone = new CallerGone(reply.raw, () => {
        held.add(source, -1);
        guard.setHeldPolls(held.total);
      });
      done();
    });
  },
  { name: 'tokenplace-held-polls', fastify: '5.x', dependencies: ['tokenplace-rate-limit'] },
);
