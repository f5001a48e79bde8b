// A protocol's background expiry, one per protocol plugin: bounded work every sweep interval.
// A large expiry in this process's heap is followed by a memory reclaim (src/memory/reclaim.ts),
// when the backend keeps its state here (the registry says which: src/store/registry.ts).
import type { FastifyInstance } from 'fastify';
import { everyInterval } from './background-task.js';

/** `sweep` returns how many entries it removed. */
export function sweepEvery(app: FastifyInstance, failureMessage: string, sweep: () => Promise<number>): void {
  const { config, logger, reclaimer } = app.relay;
  const burst = reclaimer?.burst() ?? null;
  everyInterval(app, logger, config.sweepIntervalMs, failureMessage, async () => {
    const removed = await sweep();
    if (burst === null) return;
    const rssBefore = process.memoryUsage.rss();
    const reclaimed = burst.afterSweep(removed);
    if (reclaimed > 0) {
      logger.info(
        { expired: reclaimed, rss_before_mb: Math.round(rssBefore / 1048576), rss_after_mb: Math.round(process.memoryUsage.rss() / 1048576) },
        'memory.reclaimed',
      );
    }
  });
}
