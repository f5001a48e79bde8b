import type { FastifyReply } from 'fastify';

/**
 * A signal that aborts when the peer closes the connection before we answered, so a held poll
 * stops waiting and, above all, claims no work for a node that can no longer receive it.
 */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort();
  };
  res.once('close', onClose);
  return controller.signal;
}
