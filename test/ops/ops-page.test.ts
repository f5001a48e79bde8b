// The operator page in Debian's Chromium against a real relay on loopback and the real demo compute
// node: it shows the node by fingerprint, the queues, the store and the build, updates itself when
// another node registers, says "draining" and then "stale" when the relay goes away, fits a phone,
// and asks for the ops token when the browser is not on a cluster-internal address.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { keyFingerprint } from '../../src/core/fingerprint.js';
import { generateKeyPair } from '../../src/crypto/index.js';
import { startDemoNode, type DemoNode } from '../../src/node/demo-node.js';
import { requireTool } from '../support/tools.js';
import { CAPS } from '../support/v1-capabilities.js';
import { V1Client, captureLogger, hasApiV1 } from '../node/harness.js';
import { CHROMIUM, openBrowser, type Browser } from '../web/browser.js';
import { outputPath, realProblems, startRelayWithPage, type PageRelay } from '../web/support.js';

const OPS_TOKEN = 'ops-page-test-token-5f1c';

async function relayFor(t: TestContext, env: Record<string, string> = {}): Promise<PageRelay | null> {
  if (!requireTool(t, CHROMIUM, 'apt-get install chromium')) return null;
  const relay = await startRelayWithPage(env);
  t.after(() => relay.close());
  return relay;
}

async function browserFor(t: TestContext, viewport?: { width: number; height: number }): Promise<Browser> {
  const browser = await openBrowser(viewport);
  t.after(() => browser.close());
  return browser;
}

async function demoNode(t: TestContext, relay: PageRelay, protocol: 'v1' | 'legacy', name: string): Promise<DemoNode> {
  const node = await startDemoNode({ relayUrl: relay.url, protocol, logger: captureLogger().logger, name });
  t.after(() => node.stop());
  await node.ready;
  return node;
}

/** Waits until the page has drawn at least `n` successful polls. */
async function updatesAtLeast(browser: Browser, n: number, timeout = 15_000): Promise<void> {
  await browser.page.waitForFunction((min) => Number(document.body.dataset.updates ?? '0') >= min, n, { timeout });
}

test('ops page on a desktop: node, queues, store, build; updates itself; draining, then stale', async (t) => {
  const relay = await relayFor(t);
  if (!relay) return;
  if (!(await hasApiV1(relay.url))) return t.skip('this relay build does not serve the API v1 relay routes');
  const node = await demoNode(t, relay, 'v1', 'ops-page-a');
  // A few encrypted round trips, so that rates and latencies have numbers.
  const client = await V1Client.create(relay.url);
  for (let i = 0; i < 3; i += 1) await client.send([{ role: 'user', content: `ops round trip ${i}` }]);

  const browser = await browserFor(t);
  const { page } = browser;
  await page.goto(`${relay.url}/ops`);
  await updatesAtLeast(browser, 1);

  const fingerprint = keyFingerprint(node.publicKey);
  const row = page.locator(`#nodes tbody tr[data-fingerprint="${fingerprint}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute('data-protocol'), 'v1');
  assert.match(await row.innerText(), /qwen3-8b-instruct/);
  assert.equal(await row.locator('[data-field="queue"]').innerText(), '0');
  assert.equal(await page.locator('#nodes-live').innerText(), '1');
  assert.equal(await page.locator('#queued-total').innerText(), '0');
  assert.equal(await page.locator('#oldest-age').innerText(), 'none');
  assert.equal(await page.locator('#store-state').innerText(), 'ok');
  assert.equal(await page.locator('#store-card').getAttribute('data-state'), 'ok');
  assert.equal(await page.locator('#build-version').innerText(), 'v0.1.0');
  assert.match(await page.locator('#build').innerText(), /tokenplace-relay 0\.1\.0/);
  assert.equal(await page.locator('#live').getAttribute('data-state'), 'ok');
  assert.match(await page.locator('#live-text').innerText(), /Live · 1 node/);
  assert.equal(await page.locator('#live').getAttribute('aria-live'), 'polite');
  // The page never shows a key: only the fingerprint.
  assert.ok(!(await page.content()).includes(node.publicKey.slice(0, 40)), 'a node key is on the page');

  // Latency: the three round trips were picked up and fetched.
  const pickup = page.locator('#latency tr[data-measure="pickup"]');
  assert.ok(Number((await pickup.locator('td').first().innerText()).replace(/,/g, '')) >= 3, await pickup.innerText());
  assert.match(await pickup.locator('[data-field="p50"]').innerText(), /\d+(\.\d)? (ms|s)$/);
  assert.ok((await page.locator('#latency tr[data-measure="turnaround"] td').first().innerText()) !== '–');
  // Requests by route, with a per-minute rate once two polls are in.
  await page.locator('#traffic tbody tr[data-route="v1_requests"]').first().waitFor();
  await updatesAtLeast(browser, 2);
  const rates = await page.locator('#traffic tbody td[data-label="Per min"]').allInnerTexts();
  assert.ok(
    rates.some((r) => r !== '–' && Number(r) > 0),
    `rates after two polls: ${rates.join(' ')}`,
  );

  // A second node registers: the page shows it without being reloaded.
  await page.evaluate(() => ((window as unknown as { opsMarker: number }).opsMarker = 1));
  const second = await demoNode(t, relay, 'legacy', 'ops-page-b');
  const secondRow = page.locator(`#nodes tbody tr[data-fingerprint="${keyFingerprint(second.publicKey)}"]`);
  await secondRow.waitFor({ timeout: 15_000 });
  assert.equal(await secondRow.getAttribute('data-protocol'), 'legacy');
  assert.equal(await page.evaluate(() => (window as unknown as { opsMarker?: number }).opsMarker), 1, 'the page was not reloaded');
  await page.waitForFunction(() => document.getElementById('nodes-live')?.textContent === '2');

  // A node that registers and then never polls: a request for it waits in its queue, and the
  // page shows the queue and its age growing.
  const idle = await generateKeyPair();
  const client2 = await generateKeyPair();
  const post = (path: string, body: unknown) =>
    fetch(`${relay.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal((await post('/api/v1/relay/servers/register', { server_public_key: idle.publicKeyWire, capabilities: CAPS })).status, 200);
  const queued = await post('/api/v1/relay/requests', {
    server_public_key: idle.publicKeyWire,
    client_public_key: client2.publicKeyWire,
    request_id: 'ops-page-queued-1',
    protocol: 'tokenplace_api_v1_relay_e2ee',
    version: 1,
    ciphertext: Buffer.from('opaque').toString('base64'),
    cipherkey: 'a2V5',
    iv: 'aXZpdml2aXY=',
    cancel_token: 'cancel-ops-page-1',
  });
  assert.equal(queued.status, 200, await queued.text());
  const idleRow = page.locator(`#nodes tbody tr[data-fingerprint="${keyFingerprint(idle.publicKeyWire)}"]`);
  await idleRow.waitFor({ timeout: 15_000 });
  await page.waitForFunction(() => document.getElementById('queued-total')?.textContent === '1', null, { timeout: 15_000 });
  assert.equal(await idleRow.locator('[data-field="queue"]').innerText(), '1');
  assert.match(await page.locator('#queued-split').innerText(), /v1 1/);
  await page.waitForFunction(() => /^\d+(\.\d)? s$/.test(document.getElementById('oldest-age')?.textContent ?? ''), null, { timeout: 15_000 });

  const shot = outputPath('ops-page-desktop.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  assert.deepEqual(realProblems(browser.problems), [], 'no console errors (CSP violations would show here)');

  // The relay starts draining (as on SIGTERM), then goes away: the page says so, and keeps the figures, marked stale.
  relay.startDraining();
  await page.waitForFunction(() => /Draining/.test(document.getElementById('live-text')?.textContent ?? ''), null, { timeout: 15_000 });
  assert.equal(await page.locator('#live').getAttribute('data-state'), 'warn');
  await relay.close();
  await page.waitForFunction(() => document.body.dataset.state === 'stale', null, { timeout: 20_000 });
  assert.match(await page.locator('#live-text').innerText(), /Stale/);
  assert.match(await page.locator('#updated').innerText(), /last good update .* s ago/);
  assert.equal(await page.locator('#main').getAttribute('data-stale'), '');
  assert.ok(await secondRow.isVisible(), 'the last figures stay on screen');
  const staleShot = outputPath('ops-page-stale.png');
  await page.screenshot({ path: staleShot });
  console.log(`screenshot: ${staleShot}`);
});

test('ops page on a 390 × 844 phone: no sideways page scroll, nodes as cards', async (t) => {
  const relay = await relayFor(t);
  if (!relay) return;
  if (!(await hasApiV1(relay.url))) return t.skip('this relay build does not serve the API v1 relay routes');
  const node = await demoNode(t, relay, 'v1', 'ops-page-phone');
  const client = await V1Client.create(relay.url);
  await client.send([{ role: 'user', content: 'ops from a phone' }]);
  const phone = await browserFor(t, { width: 390, height: 844 });
  const { page } = phone;
  await page.goto(`${relay.url}/ops`);
  await updatesAtLeast(phone, 1);
  const row = page.locator(`#nodes tbody tr[data-fingerprint="${keyFingerprint(node.publicKey)}"]`);
  await row.waitFor();
  await updatesAtLeast(phone, 2);

  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `horizontal page overflow of ${overflow}px`);
  // The node is a card: its cells stack, each under its column's name, inside the screen.
  const box = await row.boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `node card at ${JSON.stringify(box)}`);
  assert.equal(await row.locator('td[data-label="Queue"]').evaluate((el) => getComputedStyle(el).display), 'flex');
  assert.equal(
    await page.locator('#nodes thead').evaluate((el) => el.getBoundingClientRect().width <= 1),
    true,
    'the header row is visually hidden (still read by screen readers)',
  );
  // Wide tables scroll inside their own box.
  for (const id of ['traffic', 'latency']) {
    const wrap = page.locator(`#${id}`).locator('xpath=..');
    assert.equal(await wrap.evaluate((el) => getComputedStyle(el).overflowX), 'auto', id);
    assert.ok(((await wrap.boundingBox())?.width ?? 999) <= 390, id);
  }
  // The percentiles themselves fit without scrolling (the mean gives way on a phone).
  const p99 = await page.locator('#latency tr[data-measure="pickup"] [data-field="p99"]').boundingBox();
  assert.ok(p99 && p99.x + p99.width <= 390, `p99 cell at ${JSON.stringify(p99)}`);
  const shot = outputPath('ops-page-phone.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  assert.deepEqual(realProblems(phone.problems), []);
});

test('ops page from an address outside the cluster: asks for the token, keeps it for the tab', async (t) => {
  // Loopback is not cluster-internal here, so the browser is "outside" and needs the token.
  const relay = await relayFor(t, { TOKENPLACE_CLUSTER_INTERNAL_CIDRS: '10.0.0.0/8', TOKENPLACE_METRICS_TOKEN: OPS_TOKEN });
  if (!relay) return;
  const denied = await fetch(`${relay.url}/ops/state`);
  assert.equal(denied.status, 401);
  assert.equal(((await denied.json()) as { code: string }).code, 'ops_unauthorized');

  const browser = await browserFor(t, { width: 390, height: 844 });
  const { page } = browser;
  await page.goto(`${relay.url}/ops`);
  await page.waitForFunction(() => document.body.dataset.state === 'auth');
  assert.ok(await page.locator('#auth').isVisible());
  assert.ok(!(await page.locator('#main').isVisible()), 'no figures before the token');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'token', 'the token box has focus');
  assert.equal(await page.locator('label[for="token"]').innerText(), 'Token');
  const prompt = outputPath('ops-page-token.png');
  await page.screenshot({ path: prompt });
  console.log(`screenshot: ${prompt}`);

  await page.locator('#token').fill('not-the-token');
  await page.locator('#token').press('Enter');
  await page.waitForFunction(() => /did not accept/.test(document.getElementById('auth-why')?.textContent ?? ''));
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');

  await page.locator('#token').fill(OPS_TOKEN);
  await page.locator('#auth-form button[type="submit"]').click();
  await updatesAtLeast(browser, 1);
  assert.ok(await page.locator('#main').isVisible());
  assert.ok(!(await page.locator('#auth').isVisible()));
  assert.equal(await page.locator('#store-state').innerText(), 'ok');
  // Reloaded, the tab still has its token and goes straight to the figures.
  await page.reload();
  await updatesAtLeast(browser, 1);
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'live');
  assert.deepEqual(realProblems(browser.problems), []);
});
