// The chat page's answers, progress, model choice and kept conversations in Debian's Chromium,
// against the real relay and the real demo compute node (its test answer hook supplies hostile
// Markdown; its think time sends encrypted progress records the way upstream HEAD nodes do).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { keyFingerprint } from '../../src/core/fingerprint.js';
import type { Page } from 'playwright-core';
import { startDemoNode, type DemoNode, type DemoNodeOptions } from '../../src/node/demo-node.js';
import { requireTool } from '../support/tools.js';
import { captureLogger, hasApiV1, waitFor } from '../node/harness.js';
import { CHROMIUM, openBrowser, sendMessage, type Browser } from './browser.js';
import { outputPath, realProblems, startRelayWithPage, type PageRelay } from './support.js';

const HOSTILE = [
  'Here is **bold**, `inline code` and a [fine link](https://example.org/docs).',
  '',
  '<img src=x onerror="window.__pwned = 1; alert(1)">',
  '',
  '[click me](javascript:alert(1)) [again](JAVASCRIPT:window.__pwned=2) [vb](vbscript:msgbox(1)) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '',
  '<script>window.__pwned = 3; alert(3)</script>',
  '',
  '![pixel](/assets/favicon.svg) <a href="javascript:alert(4)">raw anchor</a> <svg onload=alert(5)></svg>',
  '',
  '```js',
  'const ok = 1 < 2 && "<b>not bold</b>";',
  '```',
  '',
  '| left | right |',
  '|:-----|------:|',
  '| a    | b     |',
].join('\n');

interface Env {
  relay: PageRelay;
  browser: Browser;
  dialogs: string[];
}

async function setup(t: TestContext, viewport?: { width: number; height: number }): Promise<Env | null> {
  if (!requireTool(t, CHROMIUM, 'apt-get install chromium')) return null;
  const relay = await startRelayWithPage();
  t.after(() => relay.close());
  if (!(await hasApiV1(relay.url))) {
    t.skip('this relay build does not serve the API v1 relay routes the page uses yet');
    return null;
  }
  const browser = await openBrowser(viewport);
  t.after(() => browser.close());
  const dialogs: string[] = [];
  browser.page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return { relay, browser, dialogs };
}

async function startNode(t: TestContext, relay: PageRelay, opts: Partial<DemoNodeOptions> = {}): Promise<DemoNode & { log: ReturnType<typeof captureLogger> }> {
  const log = captureLogger();
  const node = await startDemoNode({ relayUrl: relay.url, protocol: 'v1', logger: log.logger, name: 'features-test', ...opts });
  t.after(() => node.stop());
  await node.ready;
  return Object.assign(node, { log });
}

async function openPage(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-keys="ready"][data-conversations="ready"][data-markdown="ready"]');
  await page.waitForFunction(() => /node online/.test(document.getElementById('status-text')?.textContent ?? ''), null, { timeout: 15_000 });
}

const fingerprintOf = (wire: string) => keyFingerprint(wire);

test('a hostile Markdown answer renders inert; code blocks, safe links, copy and the answering node show', async (t) => {
  const env = await setup(t);
  if (!env) return;
  const { relay, browser, dialogs } = env;
  const { page } = browser;
  const node = await startNode(t, relay, { reply: () => ({ content: HOSTILE }) });
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: relay.url });
  await openPage(page, relay.url);

  await sendMessage(page, 'show me something nasty');
  const answer = page.locator('.msg.assistant').first();
  await answer.locator('.meta .copy').waitFor({ timeout: 30_000 });
  const body = answer.locator('.body');

  const dom = await body.evaluate((el) => {
    const all = [...el.querySelectorAll('*')];
    return {
      tags: [...new Set(all.map((e) => e.tagName.toLowerCase()))].sort(),
      imgs: el.querySelectorAll('img, svg, script, iframe, object, embed').length,
      scriptsInDocument: document.querySelectorAll('script').length,
      handlers: all.flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name) || a.name === 'style').map((a) => `${e.tagName}.${a.name}`)),
      hrefs: [...el.querySelectorAll('a')].map((a) => ({
        href: a.getAttribute('href'),
        rel: a.getAttribute('rel'),
        target: a.getAttribute('target'),
        text: a.textContent,
      })),
      aligned: [...el.querySelectorAll('th')].map((c) => c.className),
      code: [...el.querySelectorAll('pre > code')].map((c) => ({ cls: c.className, text: c.textContent })),
      text: el.textContent ?? '',
      pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
    };
  });
  assert.equal(dom.imgs, 0, `no image, svg or script elements: ${dom.tags.join(',')}`);
  assert.equal(dom.scriptsInDocument, 1, 'only the page module script exists');
  assert.deepEqual(dom.handlers, [], 'no event handler or style attributes');
  assert.equal(dom.pwned, null, 'no injected code ran');
  assert.deepEqual(
    dom.hrefs.map((h) => h.href),
    ['https://example.org/docs'],
    'only the https link is a link: javascript:, vbscript:, data: and raw anchors are not',
  );
  assert.equal(dom.hrefs[0]!.rel, 'noopener noreferrer nofollow');
  assert.equal(dom.hrefs[0]!.target, '_blank');
  assert.ok(dom.text.includes('<img src=x onerror='), 'raw HTML shows as text');
  assert.ok(dom.text.includes('<script>window.__pwned = 3'), 'a raw script tag shows as text');
  assert.ok(dom.text.includes('[click me](javascript:alert(1))'), 'the refused link stays visible as text');
  assert.deepEqual(dom.code, [{ cls: 'language-js', text: 'const ok = 1 < 2 && "<b>not bold</b>";\n' }]);
  assert.deepEqual(dom.aligned, ['align-left', 'align-right'], 'table alignment kept as classes, not inline style');
  assert.ok(dom.tags.includes('strong') && dom.tags.includes('table'), `Markdown rendered: ${dom.tags.join(',')}`);
  assert.deepEqual(dialogs, [], 'no dialog fired');

  // Which node answered: the fingerprint of the key the relay was given, and the model.
  const source = answer.locator('.meta .source');
  assert.equal(await source.getAttribute('data-fingerprint'), fingerprintOf(node.publicKey));
  assert.match(await source.innerText(), new RegExp(`node ${fingerprintOf(node.publicKey)} · qwen3-8b-instruct`));

  // Copy puts the answer's Markdown text on the clipboard.
  await answer.locator('.meta .copy').click();
  await page.waitForFunction(() => document.querySelector('.msg.assistant .copy')?.textContent === 'Copied');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), HOSTILE);

  const shot = outputPath('chat-features-markdown-desktop.png');
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  assert.deepEqual(realProblems(browser.problems), [], 'no console errors (CSP violations would show here)');
  assert.ok(!relay.logText().includes('nasty'), 'the relay never saw the words');
});

test('progress while the node works, a token-limit notice, and Stop as a normal state', async (t) => {
  const env = await setup(t);
  if (!env) return;
  const { relay, browser } = env;
  const { page } = browser;
  const node = await startNode(t, relay, {
    thinkMs: 2500,
    reply: (messages) => ({ content: `Answer ${messages.filter((m) => m.role === 'user').length}, cut short`, finishReason: 'length' }),
  });
  await openPage(page, relay.url);

  // 1. Progress records from the node are decrypted and shown while waiting.
  await sendMessage(page, 'take your time');
  const pending = page.locator('.msg.pending');
  await page.waitForFunction(() => Number(document.querySelector('.msg.pending[data-phase="generating"]')?.getAttribute('data-generated') ?? 0) >= 1, null, {
    timeout: 20_000,
  });
  const progressText = await pending.locator('.body').innerText();
  assert.match(progressText, /The compute node is writing: [1-9]\d* tokens? so far · \d+\.\d s/);
  console.log(`progress shown: ${progressText}`);
  const waiting = outputPath('chat-features-progress.png');
  await page.screenshot({ path: waiting });
  console.log(`screenshot: ${waiting}`);
  const answer = page.locator('.msg.assistant').first();
  await answer.waitFor({ timeout: 20_000 });
  assert.equal(await answer.getAttribute('data-finish'), 'length');
  assert.match(await answer.locator('.notice.limit').innerText(), /reached its length limit \(this page asks for at most 512 tokens/);
  assert.equal(node.answered, 1);

  // 2. Stop while the node is still working: "Stopped", not a problem; the message stays.
  await sendMessage(page, 'never mind this one');
  await page.waitForFunction(() => document.querySelector('.msg.pending')?.getAttribute('data-phase') != null, null, { timeout: 20_000 });
  await page.locator('#stop').click();
  const stopped = page.locator('.msg.stopped');
  await stopped.waitFor({ timeout: 5000 });
  assert.equal(await stopped.locator('.who').innerText(), 'Stopped');
  assert.equal(await page.locator('.msg.error').count(), 0, 'no error box');
  assert.doesNotMatch(await page.locator('#log').innerText(), /Problem/);
  assert.equal(
    await page
      .locator('.msg.user')
      .last()
      .innerText()
      .then((s) => s.includes('never mind this one')),
    true,
  );
  assert.equal(await page.locator('#send').isDisabled(), false);
  assert.equal(await page.locator('#stop').isHidden(), true);
  // The relay was told: the node drops the request instead of answering it.
  await waitFor('the node to drop the cancelled request', async () => (/"event":"work.dropped"/.test(node.log.text()) ? true : undefined), 10_000, 100);
  assert.equal(node.answered, 1);
  const shot = outputPath('chat-features-progress-stopped.png');
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);

  // 3. A reload while waiting: the keys went with the old page, so the question reads as stopped.
  await sendMessage(page, 'left hanging');
  await page.waitForFunction(() => document.querySelector('.msg.pending')?.getAttribute('data-phase') != null, null, { timeout: 20_000 });
  await page.reload();
  await page.waitForSelector('body[data-conversations="ready"]');
  assert.equal(await page.locator('.msg.stopped').count(), 2);
  assert.match(await page.locator('.msg').last().innerText(), /^Stopped/);
  assert.equal(await page.locator('.msg.pending, .msg.error').count(), 0);
  assert.deepEqual(realProblems(browser.problems), []);
});

test('conversations survive a reload; new chat, switching, delete and model choice work by keyboard', async (t) => {
  const env = await setup(t);
  if (!env) return;
  const { relay, browser } = env;
  const { page } = browser;
  const node = await startNode(t, relay);
  await openPage(page, relay.url);

  // The picker offers the models live nodes advertise.
  await page.waitForFunction(() => document.querySelectorAll('#model option').length > 1, null, { timeout: 15_000 });
  const options = await page.locator('#model option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  // The models route lists the catalogue first, diagnostics the node's own order: either way the
  // empty choice (any model) comes first and both of the node's models are offered.
  assert.equal(options[0], '');
  assert.deepEqual(options.slice(1).sort(), ['qwen3-8b-instruct', 'tokenplace-demo']);
  assert.match(String(await page.locator('#model').getAttribute('data-source')), /^(models|diagnostics)$/);

  // Keyboard only: type, Tab to Send, Enter.
  await page.locator('#prompt').focus();
  await page.keyboard.type('remember me');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'send');
  await page.keyboard.press('Enter');
  await page.locator('.msg.assistant').first().waitFor({ timeout: 30_000 });

  // Choose a model with the keyboard; the next answer names it.
  await page.locator('#model').focus();
  await page.locator('#model').selectOption('tokenplace-demo');
  await sendMessage(page, 'second turn');
  await page.locator('.msg.assistant').nth(1).waitFor({ timeout: 30_000 });
  assert.match(await page.locator('.msg.assistant').nth(1).locator('.source').innerText(), / · tokenplace-demo$/);

  // Reload: the conversation, its model and the list are still there (keys are new).
  await page.reload();
  await page.waitForSelector('body[data-keys="ready"][data-conversations="ready"]');
  await page.locator('.msg.assistant').nth(1).waitFor();
  assert.equal(await page.locator('.msg.user').count(), 2);
  assert.match(await page.locator('.msg.assistant').nth(1).innerText(), /turn 2\. You said: “second turn”/);
  assert.equal(await page.locator('#model').inputValue(), 'tokenplace-demo');
  assert.equal(await page.locator('#conversations .conv').count(), 1);
  assert.equal(await page.locator('#conversations .conv-open[aria-current="true"]').innerText(), 'remember me');

  // Tab from the message box reaches New chat; Enter starts one.
  await page.locator('#prompt').focus();
  let reached = false;
  for (let i = 0; i < 8 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = (await page.evaluate(() => document.activeElement?.id)) === 'new-chat';
  }
  assert.ok(reached, 'Tab reaches New chat');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('.msg').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'prompt', 'focus goes back to the message box');
  await page.keyboard.type('a fresh start');
  await page.keyboard.press('Enter');
  await page.locator('.msg.assistant').first().waitFor({ timeout: 30_000 });
  assert.match(await page.locator('.msg.assistant').first().innerText(), /turn 1\. You said: “a fresh start”/, 'the new chat does not carry the old turns');
  assert.deepEqual(await page.locator('#conversations .conv-open').allInnerTexts(), ['a fresh start', 'remember me']);

  // Switch back to the first, then delete it; it stays deleted after a reload.
  await page.locator('#conversations .conv-open', { hasText: 'remember me' }).click();
  assert.equal(await page.locator('.msg.user').count(), 2);
  await page.getByRole('button', { name: 'Delete conversation “remember me”' }).focus();
  await page.keyboard.press('Enter');
  assert.deepEqual(await page.locator('#conversations .conv-open').allInnerTexts(), ['a fresh start']);
  assert.equal(await page.locator('.msg').count(), 0, 'the deleted conversation is gone from the screen');
  const storedText = () =>
    page.evaluate(
      () =>
        new Promise<string>((resolve, reject) => {
          const open = indexedDB.open('tokenplace-chat');
          open.onsuccess = () => {
            const get = open.result.transaction('conversations').objectStore('conversations').getAll();
            get.onsuccess = () => resolve(JSON.stringify(get.result));
            get.onerror = () => reject(get.error ?? new Error('getAll failed'));
          };
          open.onerror = () => reject(open.error ?? new Error('open failed'));
        }),
    );
  const stored = await waitFor('the delete to reach IndexedDB', async () => {
    const text = await storedText();
    return text.includes('remember me') ? undefined : text;
  });
  assert.ok(stored.includes('a fresh start'), 'the other conversation is still stored');
  assert.ok(!/PRIVATE KEY|privateKey|BEGIN/.test(stored), 'no key material is stored');
  await page.reload();
  await page.waitForSelector('body[data-conversations="ready"]');
  assert.deepEqual(await page.locator('#conversations .conv-open').allInnerTexts(), ['a fresh start']);
  assert.equal(node.answered, 3);
  assert.deepEqual(realProblems(browser.problems), []);
});

test('a Markdown answer with a long code line on a 390×844 phone: no sideways scroll', async (t) => {
  const env = await setup(t, { width: 390, height: 844 });
  if (!env) return;
  const { relay, browser } = env;
  const { page } = browser;
  const longLine = `const value = ${'"a very long string literal" + '.repeat(8)}"end";`;
  await startNode(t, relay, {
    reply: () => ({
      content: `A **phone** answer:\n\n\`\`\`ts\n${longLine}\n\`\`\`\n\n| col | col | col | col | col | col |\n|-----|-----|-----|-----|-----|-----|\n| wide wide | wide wide | wide wide | wide wide | wide wide | wide wide |\n\n${'averyveryverylongwordwithoutanyspaces'.repeat(4)}`,
    }),
  });
  await openPage(page, relay.url);
  await sendMessage(page, 'Hello from a phone');
  await page.locator('.msg.assistant .copy').first().waitFor({ timeout: 30_000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
  const pre = await page.locator('.msg.assistant pre').boundingBox();
  assert.ok(pre && pre.x >= 0 && pre.x + pre.width <= 390, 'the code block fits; it scrolls inside itself');
  for (const id of ['#send', '#new-chat', '#chats-toggle']) {
    const box = await page.locator(id).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${id} is on screen`);
  }
  const shot = outputPath('chat-features-phone.png');
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  // The conversation list opens over the chat on a phone.
  await page.locator('#chats-toggle').click();
  assert.equal(await page.locator('#chats-toggle').getAttribute('aria-expanded'), 'true');
  await page.locator('#sidebar .conv-open').first().waitFor();
  assert.equal((await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)) <= 0, true);
  const listShot = outputPath('chat-features-phone-list.png');
  await page.screenshot({ path: listShot });
  console.log(`screenshot: ${listShot}`);
  assert.deepEqual(realProblems(browser.problems), []);
});
