// The operator page: GET /ops (the page), /ops/assets/* (its script and stylesheet, built by
// web/build.mjs into dist/web/ops) and GET /ops/state (the JSON it polls, src/ops/state.ts).
//
// The page itself carries no data: it is the same static shell for everyone, served with the chat
// page's strict Content-Security-Policy. Everything it shows comes from /ops/state, which answers
// cluster-internal addresses and holders of the ops token; the page asks for the token when
// /ops/state says 401 and keeps it in sessionStorage for that tab only.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PLANS } from '../limits/budgets.js';
import { findWebRoot, loadSite, securityHeaders, send, type Asset } from '../page/routes.js';
import { makeOpsAccess, opsState } from './state.js';

function loadOpsSite(): { index: Asset; assets: Map<string, Asset> } | null {
  const root = findWebRoot();
  if (root === null) return null;
  const dir = join(root, 'ops');
  if (!existsSync(join(dir, 'index.html')) || !existsSync(join(dir, 'assets'))) return null;
  return loadSite(dir);
}

export async function opsPage(app: FastifyInstance): Promise<void> {
  const relay = app.relay;
  const access = makeOpsAccess(relay.config);
  const site = loadOpsSite();

  app.get('/ops/state', { config: { name: 'ops_state', quiet: true, rateLimit: PLANS.ops } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    try {
      access(request);
    } catch (err) {
      if (relay.config.metricsToken !== null) reply.header('www-authenticate', 'Bearer');
      throw err;
    }
    return opsState(relay, request.headers.host);
  });

  app.get('/ops', { config: { name: 'ops_page', quiet: true, rateLimit: PLANS.ops } }, async (request, reply) => {
    if (site === null) {
      securityHeaders(reply);
      reply.header('cache-control', 'no-store');
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The operator page has not been built. Run `npm run build` and restart the relay; /ops/state answers meanwhile.\n');
    }
    return send(request, reply, site.index);
  });

  app.get('/ops/assets/*', { config: { name: 'ops_asset', quiet: true, rateLimit: PLANS.ops } }, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const asset = site?.assets.get(name);
    if (!asset) {
      reply.callNotFound();
      return;
    }
    return send(request, reply, asset);
  });
}
