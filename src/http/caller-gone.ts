// The caller-gone signal of one request (src/core/caller-signal.ts): aborted when the response
// closes before it was fully written, i.e. the peer went away while its poll was held, so the
// hold stops waiting and, above all, claims no work for a node that can no longer receive it.
//
// One plain object and one 'close' listener per request (not an AbortController, not `once`):
// held polls are what a public relay holds by the ten thousand. The held-polls plugin makes it
// for every held route and releases the source's share from the same listener.
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { CallerSignal } from '../core/caller-signal.js';

export class CallerGone implements CallerSignal {
  aborted = false;
  #listeners: EventListenerObject[] | null = null;

  /** `onClose` runs when the response closes, answered or not. */
  constructor(res: ServerResponse, onClose?: () => void) {
    res.on('close', () => {
      if (!res.writableFinished) this.#abort();
      onClose?.();
    });
  }

  addEventListener(_type: 'abort', listener: EventListenerObject): void {
    if (this.aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: EventListenerObject): void {
    const listeners = this.#listeners;
    if (listeners === null) return;
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  }

  #abort(): void {
    this.aborted = true;
    const listeners = this.#listeners;
    this.#listeners = null;
    if (listeners === null) return;
    const event = new Event('abort');
    for (const listener of listeners) listener.handleEvent(event);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the held-polls plugin on held routes. */
    callerGone: CallerGone | null;
  }
}

/** The request's caller-gone signal: the held-polls plugin's, or a new one for other routes. */
export function clientGoneSignal(reply: FastifyReply): CallerSignal {
  return reply.request.callerGone ?? new CallerGone(reply.raw);
}
