// A relay with the chat page on a real port, its log lines kept for "is it blind?" checks.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/core/logger.js';
import { webRoutes } from '../../src/page/routes.js';
import { startServer } from '../../src/server.js';
import { ensureBuilt, freePort, repoRoot } from '../node/harness.js';

export const outputDir = join(repoRoot, 'test-output');

export function outputPath(name: string): string {
  mkdirSync(outputDir, { recursive: true });
  return join(outputDir, name);
}

export interface PageRelay {
  url: string;
  /** Puts the relay into its draining state (as on SIGTERM) without closing it. */
  startDraining(): void;
  logText(): string;
  close(): Promise<void>;
}

export async function startRelayWithPage(env: Record<string, string> = {}): Promise<PageRelay> {
  ensureBuilt();
  let logs = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  const port = await freePort();
  const config = loadConfig({
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: String(port),
    TOKENPLACE_RELAY_DRAIN_SECONDS: '1',
    TOKENPLACE_RELAY_DRAIN_LINGER_MS: '0',
    ...env,
  });
  const relay = await startServer({ config, logger: createLogger('info', sink), plugins: [webRoutes] });
  return {
    url: relay.url,
    startDraining: () => relay.drain.start(),
    logText: () => logs,
    close: () => relay.shutdown('test done'),
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Console noise that is not a page problem: the browser reports every non-2xx fetch. */
export function realProblems(problems: string[]): string[] {
  return problems.filter((p) => !/Failed to load resource: the server responded with a status of/.test(p));
}
