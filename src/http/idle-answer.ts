// A long-poll that ends with "nothing yet" (an empty /sink or API v1 poll, a retrieve still
// pending) is the normal rhythm of an idle relay: every node and waiting client makes one every
// few seconds. The route marks such an answer, and the request log writes it at debug, so the
// info log carries errors and real work.
import type { FastifyReply } from 'fastify';

const idleReplies = new WeakSet<FastifyReply>();

/** This successful answer carried nothing (a held poll that timed out or found nothing). */
export function markIdle(reply: FastifyReply): void {
  idleReplies.add(reply);
}

export function isIdle(reply: FastifyReply): boolean {
  return idleReplies.has(reply);
}
