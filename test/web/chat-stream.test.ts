// Streamed and signed answers in Debian's Chromium, against the real relay and the real demo
// compute node (README "Signed answers and streaming"): text appears as it is generated, Stop
// mid-stream keeps what came, a replayed streamed record is refused without the text going
// backwards, a forged answer (signed with another key, or unsigned, for a node that signs) is
// refused, and a node that does not sign is shown as unverified. Prints the time from send to
// the first streamed word and to the full answer (median of 20); timings are not asserted.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Page } from 'playwright-core';
import { decryptJson, encryptJson, generateKeyPair, signText, type KeyPair } from '../../src/crypto/index.js';
import { keyFingerprint } from '../../src/core/fingerprint.js';
import { DEMO_CAPABILITIES, startDemoNode, type DemoNode, type DemoNodeOptions } from '../../src/node/demo-node.js';
import { requireTool } from '../support/tools.js';
import { captureLogger, hasApiV1, waitFor } from '../node/harness.js';
import { CHROMIUM, openBrowser, sendMessage, type Browser } from './browser.js';
import { median, outputPath, realProblems, startRelayWithPage, type PageRelay } from './support.js';

const P = 'tokenplace_api_v1_relay_e2ee';
const LONG = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ') + '.';

interface Env {
  relay: PageRelay;
  browser: Browser;
  warnings: string[];
}

async function setup(t: TestContext): Promise<Env | null> {
  if (!requireTool(t, CHROMIUM, 'apt-get install chromium')) return null;
  const relay = await startRelayWithPage();
  t.after(() => relay.close());
  if (!(await hasApiV1(relay.url))) {
    t.skip('this relay build does not serve the API v1 relay routes the page uses yet');
    return null;
  }
  const browser = await openBrowser();
  t.after(() => browser.close());
  const warnings: string[] = [];
  browser.page.on('console', (m) => {
    if (m.type() === 'warning') warnings.push(m.text());
  });
  return { relay, browser, warnings };
}

async function startNode(t: TestContext, relayUrl: string, opts: Partial<DemoNodeOptions> = {}): Promise<DemoNode & { log: ReturnType<typeof captureLogger> }> {
  const log = captureLogger();
  const node = await startDemoNode({ relayUrl, protocol: 'v1', logger: log.logger, name: 'stream-test', ...opts });
  t.after(() => node.stop());
  await node.ready;
  return Object.assign(node, { log });
}

async function openPage(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-keys="ready"][data-conversations="ready"][data-markdown="ready"]');
  await page.waitForFunction(() => /node online/.test(document.getElementById('status-text')?.textContent ?? ''), null, { timeout: 15_000 });
}

interface Timing {
  first: number | null;
  full: number;
  firstText: string | null;
  finalText: string;
  verification: string;
  /** Lengths of the shown text each time it changed. */
  lengths: number[];
}

// Plain JavaScript (not compiled by tsx, whose helpers do not exist in the page): sends the
// text and watches the new answer on screen: when words first show, when it is done.
const TIMED_SEND = `(text) => new Promise((resolve) => {
  const log = document.getElementById('log');
  const before = document.querySelectorAll('.msg.assistant').length;
  document.getElementById('prompt').value = text;
  const t0 = performance.now();
  let first = null, firstText = null;
  const lengths = [];
  const obs = new MutationObserver(function check() {
    const el = document.querySelectorAll('.msg.assistant')[before];
    if (!el) return;
    const body = el.querySelector('.body')?.textContent ?? '';
    if (lengths[lengths.length - 1] !== body.length) lengths.push(body.length);
    if (first === null && body.trim() !== '' && el.dataset.state === 'streaming') { first = performance.now() - t0; firstText = body; }
    if (el.dataset.state === 'done') {
      obs.disconnect();
      resolve({ first, full: performance.now() - t0, firstText, finalText: body, verification: el.dataset.verification ?? '', lengths });
    }
  });
  obs.observe(log, { subtree: true, childList: true, attributes: true, characterData: true });
  document.getElementById('composer').requestSubmit();
})`;

function timedSend(page: Page, text: string): Promise<Timing> {
  return page.evaluate<Timing>(`(${TIMED_SEND})(${JSON.stringify(text)})`);
}

test('a streaming, signing node: first words appear before the answer is complete; verified; medians of 20', async (t) => {
  const env = await setup(t);
  if (!env) return;
  const { relay, browser } = env;
  const { page } = browser;
  const node = await startNode(t, relay.url, { tokenDelayMs: 20 });
  await openPage(page, relay.url);

  const firsts: number[] = [];
  const fulls: number[] = [];
  for (let run = 1; run <= 20; run++) {
    const timing = await timedSend(page, `streaming run ${run}`);
    assert.ok(timing.first !== null && timing.firstText !== null, `run ${run}: text streamed in before the answer was complete`);
    assert.ok(timing.first < timing.full, `run ${run}: first words before the full answer`);
    assert.ok(
      timing.firstText.length < timing.finalText.length && timing.finalText.startsWith(timing.firstText.trimEnd()),
      `run ${run}: the first words were a beginning of the answer`,
    );
    assert.match(timing.finalText, new RegExp(`You said: “streaming run ${run}”`));
    assert.equal(timing.verification, 'verified');
    for (let i = 1; i < timing.lengths.length; i++) assert.ok(timing.lengths[i]! >= timing.lengths[i - 1]!, `run ${run}: the text never went backwards`);
    firsts.push(timing.first);
    fulls.push(timing.full);
    if (run === 1) {
      await page.locator('.msg.assistant .badge.verified').first().waitFor();
      assert.equal(await page.locator('.msg.assistant .badge').first().innerText(), 'Verified');
    }
  }
  const words = (await page.locator('.msg.assistant').last().locator('.body').innerText()).split(/\s+/).length;
  const streamed = node.streamed;
  console.log(`demo node, --token-delay-ms 20, ${words}-word answers, snapshots at most every 100 ms, signed:`);
  console.log(
    `  send → first streamed word: median ${median(firsts).toFixed(0)} ms (min ${Math.min(...firsts).toFixed(0)}, max ${Math.max(...firsts).toFixed(0)}) over 20 runs`,
  );
  console.log(
    `  send → full answer:         median ${median(fulls).toFixed(0)} ms (min ${Math.min(...fulls).toFixed(0)}, max ${Math.max(...fulls).toFixed(0)}) over 20 runs`,
  );
  console.log(
    `  streamed records: ${streamed.records} in 20 answers (${(streamed.records / 20).toFixed(1)} per answer), ${streamed.bytes} request bytes (${(streamed.bytes / streamed.records).toFixed(0)} per record, ${(streamed.bytes / 20 / 1024).toFixed(1)} KiB per answer)`,
  );
  assert.equal(node.answered, 20);
  const shot = outputPath('chat-stream-verified.png');
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  assert.deepEqual(realProblems(browser.problems), []);
  assert.ok(!relay.logText().includes('streaming run'), 'the relay never saw the words');
});

test('Stop mid-stream: the words so far stay, marked partial; it reads as stopped, not as a problem; the node stops', async (t) => {
  const env = await setup(t);
  if (!env) return;
  const { relay, browser } = env;
  const { page } = browser;
  const node = await startNode(t, relay.url, { tokenDelayMs: 60, reply: () => ({ content: LONG }) });
  await openPage(page, relay.url);
  await sendMessage(page, 'a long one please');
  await page.waitForFunction(() => (document.querySelector('.msg.assistant[data-state="streaming"] .body')?.textContent ?? '').split(' ').length >= 5, null, {
    timeout: 20_000,
  });
  await page.locator('#stop').click();
  const partial = page.locator('.msg.assistant[data-state="stopped"]');
  await partial.waitFor({ timeout: 5000 });
  const kept = await partial.locator('.body').innerText();
  assert.ok(kept.startsWith('word0 word1') && kept.length < LONG.length, `partial text kept: ${kept}`);
  assert.equal(await page.locator('.msg.stopped .who').innerText(), 'Stopped');
  assert.match(await page.locator('.msg.stopped .body').innerText(), /stopped this answer part way/);
  assert.equal(await page.locator('.msg.error').count(), 0);
  assert.doesNotMatch(await page.locator('#log').innerText(), /Problem/);
  assert.equal(await page.locator('#send').isDisabled(), false);
  await waitFor(
    'the node to stop generating for the cancelled request',
    async () => (/"event":"work.dropped"/.test(node.log.text()) ? true : undefined),
    10_000,
    100,
  );
  assert.equal(node.answered, 0);
  // The text does not keep growing after Stop.
  await page.waitForTimeout(300);
  assert.equal(await partial.locator('.body').innerText(), kept);
  const shot = outputPath('chat-stream-stopped.png');
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  // A reload keeps the partial answer, still marked stopped.
  await page.reload();
  await page.waitForSelector('body[data-conversations="ready"][data-markdown="ready"]');
  assert.equal(await page.locator('.msg.assistant[data-state="stopped"] .body').innerText(), kept);
  assert.deepEqual(realProblems(browser.problems), []);
});

/**
 * Sits between the node and the relay and forwards everything; after the node's `replayAfter`-th
 * progress record it re-posts the node's `replayIndex`-th one (a genuine, older, signed record:
 * what anyone with the request and the node's progress traffic in hand could do).
 */
async function replayingProxy(t: TestContext, relayUrl: string, replayAfter: number, replayIndex: number): Promise<{ url: string; replays: number[] }> {
  const seen: string[] = [];
  const replays: number[] = [];
  const read = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
    });
  const forward = async (method: string, path: string, headers: Record<string, string>, body: Buffer | undefined) => {
    const res = await fetch(`${relayUrl}${path}`, { method, headers, body: method === 'GET' || body === undefined ? undefined : new Uint8Array(body) });
    return { status: res.status, type: res.headers.get('content-type') ?? 'application/json', text: await res.text() };
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const body = await read(req);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const h of ['x-relay-server-token', 'authorization']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
      const answer = await forward(req.method ?? 'GET', req.url ?? '/', headers, body);
      if (req.url === '/api/v1/relay/progress') {
        seen.push(body.toString());
        if (seen.length === replayAfter) {
          await new Promise((r) => setTimeout(r, 300));
          const old = await forward('POST', '/api/v1/relay/progress', headers, Buffer.from(seen[replayIndex - 1]!));
          replays.push(old.status);
          await new Promise((r) => setTimeout(r, 300));
        }
      }
      res.writeHead(answer.status, { 'content-type': answer.type });
      res.end(answer.text);
    })().catch(() => {
      res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, replays };
}

test('a replayed (older) streamed record is refused: the text never goes backwards and a warning is recorded', async (t) => {
  const env = await setup(t);
  if (!env) return;
  const { relay, browser, warnings } = env;
  const { page } = browser;
  const proxy = await replayingProxy(t, relay.url, 6, 2);
  const node = await startNode(t, proxy.url, { tokenDelayMs: 40, reply: () => ({ content: LONG }) });
  await openPage(page, relay.url);
  const timing = await timedSend(page, 'replay me');
  assert.deepEqual(proxy.replays, [202], 'the relay took the replayed record (it cannot tell: it is blind)');
  for (let i = 1; i < timing.lengths.length; i++)
    assert.ok(timing.lengths[i]! >= timing.lengths[i - 1]!, `the shown text never went backwards: ${timing.lengths.join(',')}`);
  const answer = page.locator('.msg.assistant').last();
  assert.ok(Number(await answer.getAttribute('data-refused')) >= 1, 'the refusal is counted on the answer');
  assert.match(await answer.locator('.notice.refused').innerText(), /streamed update(s were| was) refused \(replayed or out of order\)/);
  assert.ok(
    warnings.some((w) => /streamed record 2 refused: stale/.test(w)),
    `a console warning names the refused record: ${warnings.join(' | ')}`,
  );
  assert.equal(timing.finalText.trim(), LONG, 'the final answer is the whole text');
  assert.equal(timing.verification, 'verified');
  assert.equal(node.answered, 1);
  const shot = outputPath('chat-stream-replay-refused.png');
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  assert.deepEqual(realProblems(browser.problems), []);
});

/**
 * A party with the request in hand: it registers a key that advertises signing, takes the work
 * and answers the client (encrypted to the client's key, for the right request id) with an
 * answer signed by another key, or unsigned.
 */
async function forgingParty(t: TestContext, relayUrl: string, mode: () => 'other-key' | 'unsigned'): Promise<{ key: KeyPair; answered: number }> {
  const key = await generateKeyPair();
  const other = await generateKeyPair();
  const caps = { ...DEMO_CAPABILITIES, answer_signing: 'rsa-pss-sha256', streaming: 'snapshots-v1' };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${relayUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
  };
  const reg = await post('/api/v1/relay/servers/register', { server_public_key: key.publicKeyWire, capabilities: caps });
  assert.equal(reg.status, 200);
  const credential = reg.body!.control_credential as string;
  const state = { key, answered: 0 };
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      const work = await post('/api/v1/relay/servers/poll', { server_public_key: key.publicKeyWire, capabilities: caps, control_credential: credential }).catch(
        () => null,
      );
      if (!work || work.body?.protocol !== P) continue;
      const w = work.body;
      const request = decryptJson({ ciphertext: w.chat_history as string, cipherkey: w.cipherkey as string, iv: w.iv as string }, key.privateKeyPem) as {
        request_id: string;
        client_public_key: string;
      };
      const content = 'Transfer everything to account 1234. (forged)';
      const envelope: Record<string, unknown> = {
        protocol: P,
        version: 1,
        request_id: request.request_id,
        client_public_key: request.client_public_key,
        api_v1_response: { message: { role: 'assistant', content }, finish_reason: 'stop' },
      };
      if (mode() === 'other-key') {
        envelope.api_v1_signature = signText(
          {
            protocol: P,
            purpose: 'answer',
            requestId: request.request_id,
            clientPublicKey: request.client_public_key,
            serverPublicKey: key.publicKeyWire,
            sequence: 0,
            finishReason: 'stop',
            text: content,
          },
          other.privateKeyPem,
        );
      }
      const enc = encryptJson(envelope, request.client_public_key);
      const sent = await post('/api/v1/relay/responses', {
        server_public_key: key.publicKeyWire,
        control_credential: credential,
        client_public_key: w.client_public_key,
        request_id: w.request_id,
        protocol: P,
        version: 1,
        chat_history: enc.ciphertext,
        cipherkey: enc.cipherkey,
        iv: enc.iv,
      });
      if (sent.status === 200) state.answered += 1;
    }
  })();
  t.after(async () => {
    stop.abort();
    await post('/api/v1/relay/servers/unregister', { server_public_key: key.publicKeyWire, control_credential: credential }).catch(() => undefined);
    await Promise.race([loop, new Promise((r) => setTimeout(r, 12_000))]);
  });
  return state;
}

test('a forged answer for a node that signs (signed with another key, or unsigned) is refused', async (t) => {
  const env = await setup(t);
  if (!env) return;
  const { relay, browser } = env;
  const { page } = browser;
  let mode: 'other-key' | 'unsigned' = 'other-key';
  const forger = await forgingParty(t, relay.url, () => mode);
  await openPage(page, relay.url);
  const fp = keyFingerprint(forger.key.publicKeyWire);

  await sendMessage(page, 'what should I do with my savings?');
  const error = page.locator('.msg.error');
  await error.waitFor({ timeout: 30_000 });
  assert.equal(await error.getAttribute('data-kind'), 'refused');
  assert.equal(
    await error.locator('.body').innerText(),
    `The answer was refused: its signature does not match compute node ${fp}, the node this page chose, so someone else may have written it.`,
  );
  assert.equal(await page.locator('.msg.assistant').count(), 0, 'the forged text is not shown');
  assert.doesNotMatch(await page.locator('#log').innerText(), /Transfer everything/);
  assert.equal(await page.locator('#prompt').inputValue(), 'what should I do with my savings?', 'the question goes back into the box');
  const shot = outputPath('chat-stream-forged-refused.png');
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);

  mode = 'unsigned';
  await page.locator('#prompt').fill('and now?');
  await page.locator('#prompt').press('Enter');
  await page.waitForFunction(() => /carried no signature/.test(document.querySelector('.msg.error .body')?.textContent ?? ''), null, { timeout: 30_000 });
  assert.equal(await page.locator('.msg.error').getAttribute('data-kind'), 'refused');
  assert.match(await page.locator('.msg.error .body').innerText(), new RegExp(`compute node ${fp} signs its answers, but this one carried no signature`));
  assert.equal(await page.locator('.msg.assistant').count(), 0);
  assert.equal(forger.answered, 2, 'both forged answers reached the page');
  assert.deepEqual(realProblems(browser.problems), []);
});

test('a node that does not sign: its streamed and final answer are shown, marked unverified', async (t) => {
  const env = await setup(t);
  if (!env) return;
  const { relay, browser } = env;
  const { page } = browser;
  const node = await startNode(t, relay.url, { tokenDelayMs: 20, signAnswers: false });
  await openPage(page, relay.url);
  const timing = await timedSend(page, 'no signature here');
  assert.ok(timing.first !== null, 'it still streams');
  assert.equal(timing.verification, 'unverified');
  const badge = page.locator('.msg.assistant .badge');
  assert.equal(await badge.innerText(), 'Unverified');
  assert.match(String(await badge.getAttribute('title')), /does not sign its answers/);
  assert.match(timing.finalText, /You said: “no signature here”/);
  assert.equal(node.answered, 1);
  const shot = outputPath('chat-stream-unverified.png');
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  assert.deepEqual(realProblems(browser.problems), []);
});
