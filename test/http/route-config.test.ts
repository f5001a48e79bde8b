// Every route declares its own name and rate-limit plan: a route without one stops the start-up
// naming it; public routes declare CORS in their config and get headers and a preflight.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { configWith } from '../../src/config.js';
import { createLogger } from '../../src/core/logger.js';
import { PLANS } from '../../src/limits/budgets.js';

const build = (plugin: (app: FastifyInstance) => Promise<void>) =>
  buildApp({ config: configWith({ logLevel: 'silent' }), logger: createLogger('silent'), plugins: [plugin] });

describe('route config', () => {
  it('a route without a rate-limit plan stops the start-up, naming the route', async () => {
    await assert.rejects(
      build(async (app) => {
        app.post('/api/v1/relay/new-thing', { config: { name: 'v1_new_thing' } }, async () => ({}));
      }),
      (err: Error) => err.name === 'RouteConfigError' && /POST \/api\/v1\/relay\/new-thing declares no rate-limit plan/.test(err.message),
    );
  });

  it('a route without a name stops the start-up too', async () => {
    await assert.rejects(
      build(async (app) => {
        app.get('/anonymous', async () => ({}));
      }),
      (err: Error) => err.name === 'RouteConfigError' && /GET \/anonymous declares no name/.test(err.message),
    );
  });

  it('a route with both starts, spends its own plan, and CORS comes from its config', async () => {
    const app = await build(async (app) => {
      app.get('/public-thing', { config: { name: 'public_thing', rateLimit: PLANS.clientAnonymous, cors: true } }, async () => ({ ok: true }));
      app.get('/private-thing', { config: { name: 'private_thing', rateLimit: PLANS.clientAnonymous } }, async () => ({ ok: true }));
    });
    try {
      const pub = await app.inject({ method: 'GET', url: '/public-thing' });
      assert.equal(pub.statusCode, 200);
      assert.equal(pub.headers['access-control-allow-origin'], '*');
      const priv = await app.inject({ method: 'GET', url: '/private-thing' });
      assert.equal(priv.headers['access-control-allow-origin'], undefined);
      const preflight = await app.inject({ method: 'OPTIONS', url: '/public-thing' });
      assert.equal(preflight.statusCode, 204);
      assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
      // Not public: the usual answer for a known path asked with another method.
      const noPreflight = await app.inject({ method: 'OPTIONS', url: '/private-thing' });
      assert.equal(noPreflight.statusCode, 405);
      assert.equal(noPreflight.json().code, 'method_not_allowed');
      assert.equal((await app.inject({ method: 'OPTIONS', url: '/no-such-thing' })).json().code, 'route_not_found');
    } finally {
      await app.close();
    }
  });

  it('every relay route declares a plan (the app starts) and the v1 client routes are public', async () => {
    const app = await buildApp({ config: configWith({ logLevel: 'silent' }), logger: createLogger('silent') });
    try {
      for (const url of ['/api/v1/relay/servers/next', '/api/v1/relay/requests', '/api/v1/relay/requests/cancel', '/api/v1/relay/responses/retrieve']) {
        const preflight = await app.inject({ method: 'OPTIONS', url });
        assert.equal(preflight.statusCode, 204, url);
      }
      const nodeRoute = await app.inject({ method: 'OPTIONS', url: '/api/v1/relay/servers/register' });
      assert.equal(nodeRoute.statusCode, 405);
      assert.equal(nodeRoute.headers['access-control-allow-origin'], undefined);
    } finally {
      await app.close();
    }
  });
});
