// A periodic background task tied to the app's life: never overlapping runs, failures logged
// (type and message only), the timer unref'd so it never keeps the process up, stopped on close.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export function everyInterval(app: FastifyInstance, logger: Logger, intervalMs: number, failureMessage: string, task: () => Promise<void>): void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task()
      .catch((err: unknown) => logger.warn({ err: err instanceof Error ? { type: err.name, message: err.message } : { type: typeof err } }, failureMessage))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}
