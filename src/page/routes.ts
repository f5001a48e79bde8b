// Serves the browser chat page (built by web/build.mjs into dist/web) at `/` and `/assets/*`,
// from memory, with a strict Content-Security-Policy: everything from this origin, no inline
// script or style, no framing. Hashed asset names are cached for a year; the page itself is
// revalidated with its ETag on every load.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PLANS } from '../limits/budgets.js';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

const HASHED_NAME = /-[A-Z0-9]{8}\.(js|css)$/;

/** Where the built page lives: next to the compiled code (dist/src/page → dist/web) or, when run from source, in dist/web. */
export function findWebRoot(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [process.env.TOKENPLACE_WEB_ROOT, join(here, '..', '..', 'web'), join(here, '..', '..', 'dist', 'web')];
  for (const c of candidates) {
    if (c && existsSync(join(c, 'index.html')) && existsSync(join(c, 'assets'))) return c;
  }
  return null;
}

function load(file: string, cacheControl: string): Asset {
  const body = readFileSync(file);
  return {
    body,
    type: TYPES[extname(file)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    cacheControl,
  };
}

export function loadSite(root: string): { index: Asset; assets: Map<string, Asset> } {
  const index = load(join(root, 'index.html'), 'no-cache');
  const assets = new Map<string, Asset>();
  const dir = join(root, 'assets');
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (!statSync(file).isFile()) continue;
    const immutable = HASHED_NAME.test(name) || name.startsWith('chunk-');
    assets.set(name, load(file, immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=86400'));
  }
  return { index, assets };
}

export function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
}

export function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  securityHeaders(reply);
  reply.header('cache-control', asset.cacheControl);
  reply.header('etag', asset.etag);
  const inm = request.headers['if-none-match'];
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim() === asset.etag)) {
    return reply.code(304).send();
  }
  reply.type(asset.type);
  return reply.send(asset.body);
}

export async function webRoutes(app: FastifyInstance): Promise<void> {
  const root = findWebRoot();
  const site = root ? loadSite(root) : null;
  if (!site) app.log.warn({ event: 'web.not_built' }, 'chat page assets not found (run `npm run build`); / answers 503');

  app.get('/', { config: { name: 'page', rateLimit: PLANS.clientAnonymous } }, async (request, reply) => {
    if (!site) {
      securityHeaders(reply);
      reply.header('cache-control', 'no-store');
      return reply.code(503).type('text/plain; charset=utf-8').send('The chat page has not been built. Run `npm run build` and restart the relay.\n');
    }
    return send(request, reply, site.index);
  });

  app.get('/assets/*', { config: { name: 'page_asset', rateLimit: PLANS.clientAnonymous } }, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const asset = site?.assets.get(name);
    if (!asset) {
      reply.callNotFound();
      return;
    }
    return send(request, reply, asset);
  });
}
