// Node's process warnings (deprecations, MaxListenersExceeded, experimental features) as JSON
// log lines like every other line, instead of free text on stderr that log pipelines split into
// one broken record per line.
import type { Logger } from 'pino';

/** The stack only at debug: it names this process's files, detail for a developer, not an operator. */
export function logProcessWarnings(logger: Logger): void {
  // Node's own printer is the only listener at start; without removing it each warning would
  // be printed twice (once as text).
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    const fields: Record<string, unknown> = { name: warning.name, message: warning.message };
    if (warning.code !== undefined) fields.code = warning.code;
    if (logger.isLevelEnabled('debug') && warning.stack !== undefined) fields.stack = warning.stack;
    logger.warn({ warning: fields }, 'process.warning');
  });
}
