// The chat page as served by the relay: strict CSP, nosniff, caching, nothing from elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../../src/app.js';
import { configWith } from '../../src/config.js';
import { createLogger } from '../../src/core/logger.js';
import { CONTENT_SECURITY_POLICY, findWebRoot, webRoutes } from '../../src/page/routes.js';
import { ensureBuilt } from '../node/harness.js';

async function app() {
  ensureBuilt();
  const a = await buildApp({ config: configWith({ logLevel: 'silent' }), logger: createLogger('silent'), plugins: [webRoutes] });
  await a.ready();
  return a;
}

test('GET / serves the page with a strict CSP, nosniff and revalidation', async (t) => {
  const a = await app();
  t.after(() => a.close());
  const r = await a.inject({ method: 'GET', url: '/' });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/html; charset=utf-8/);
  const csp = String(r.headers['content-security-policy']);
  assert.equal(csp, CONTENT_SECURITY_POLICY);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['cache-control'], 'no-cache');
  const etag = String(r.headers.etag);
  assert.match(etag, /^".+"$/);
  const again = await a.inject({ method: 'GET', url: '/', headers: { 'if-none-match': etag } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');
  const head = await a.inject({ method: 'HEAD', url: '/' });
  assert.equal(head.statusCode, 200);
});

test('the page loads only same-origin assets and has no inline script or style', async (t) => {
  const a = await app();
  t.after(() => a.close());
  const html = (await a.inject({ method: 'GET', url: '/' })).body;
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length >= 1);
  for (const [, attrs, body] of scripts) {
    assert.equal(body!.trim(), '', 'no inline script');
    assert.match(attrs!, /src="\/assets\/[^"]+\.js"/);
  }
  assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=|https?:\/\//i, 'no inline style, handlers or absolute URLs');
  const refs = [...html.matchAll(/(?:src|href)="([^"#][^"]*)"/g)].map((m) => m[1]!);
  assert.ok(refs.length >= 3);
  for (const ref of refs) {
    assert.match(ref, /^\/assets\//);
    const r = await a.inject({ method: 'GET', url: ref });
    assert.equal(r.statusCode, 200, ref);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.ok(r.headers['content-security-policy']);
    if (/-[A-Z0-9]{8}\.(js|css)$/.test(ref)) assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable', ref);
    if (ref.endsWith('.js')) assert.match(String(r.headers['content-type']), /^text\/javascript/);
    if (ref.endsWith('.css')) assert.match(String(r.headers['content-type']), /^text\/css/);
  }
  // Labels for the controls a keyboard or screen-reader user needs.
  assert.match(html, /<label for="prompt"/);
  assert.match(html, /<html lang="en">/);
  assert.match(html, /name="viewport"/);
});

test('unknown assets and path tricks are 404, not files from elsewhere', async (t) => {
  const a = await app();
  t.after(() => a.close());
  for (const url of ['/assets/nope.js', '/assets/../index.html', '/assets/%2e%2e/%2e%2e/package.json', '/assets/']) {
    const r = await a.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 404, url);
    assert.doesNotMatch(r.body, /"name": "tokenplace-relay"/);
  }
});

test('the PKCS#1 v1.5 fallback is a separate chunk, not in the main script', () => {
  ensureBuilt();
  const root = findWebRoot();
  assert.ok(root);
  const html = readFileSync(join(root, 'index.html'), 'utf8');
  const main = /src="\/assets\/([^"]+\.js)"/.exec(html)![1]!;
  const js = readFileSync(join(root, 'assets', main), 'utf8');
  assert.ok(js.length < 60_000, `main script stays small (${js.length} bytes)`);
  assert.doesNotMatch(js, /RSAES-PKCS1-V1_5/);
});
