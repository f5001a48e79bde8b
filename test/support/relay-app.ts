// An in-process relay for route tests: memory store, fake clock, silent logs.
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { configWith, type Config } from '../../src/config.js';
import { Drain } from '../../src/core/drain.js';
import { createLogger } from '../../src/core/logger.js';
import { storeLimits } from '../../src/store/limits.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { RelayStore } from '../../src/store/types.js';
import { FakeClock } from './fake-clock.js';

export interface TestRelay {
  app: FastifyInstance;
  store: RelayStore;
  clock: FakeClock;
  drain: Drain;
  config: Config;
  post(url: string, payload: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
}

/** Holds are off by default so tests answer at once; pass sinkHoldMs/retrieveHoldMs to test them. */
export async function testRelay(overrides: Partial<Config> = {}, env: Record<string, string> = {}): Promise<TestRelay> {
  const config = configWith({ sinkHoldMs: 0, retrieveHoldMs: 0, logLevel: 'silent', ...overrides }, env);
  const clock = new FakeClock();
  const store = new MemoryStore(storeLimits(config));
  const drain = new Drain();
  const app = await buildApp({ config, store, clock, drain, logger: createLogger('silent') });
  await app.ready();
  return {
    app,
    store,
    clock,
    drain,
    config,
    post: (url, payload, headers = {}) =>
      app.inject({ method: 'POST', url, payload: payload as object, headers: { 'content-type': 'application/json', ...headers } }),
    inject: (options) => app.inject(options),
  };
}

export const NODE_KEY = Buffer.from('-----BEGIN PUBLIC KEY-----\nNODE\n-----END PUBLIC KEY-----\n').toString('base64');
export const CLIENT_KEY = Buffer.from('-----BEGIN PUBLIC KEY-----\nCLIENT\n-----END PUBLIC KEY-----\n').toString('base64');

export function faucetBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { server_public_key: NODE_KEY, client_public_key: CLIENT_KEY, chat_history: 'Y2lwaGVy', cipherkey: 'a2V5', iv: 'aXY=', ...overrides };
}
