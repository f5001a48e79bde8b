// The page's encryption against the real upstream compute node (server.py, mock model) through
// our relay. Needs TP_TREE = an exported upstream token.place tree that speaks API v1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { requireTool } from '../support/tools.js';
import { freePort, hasApiV1, waitFor } from '../node/harness.js';
import { CHROMIUM, openBrowser, sendMessage } from './browser.js';
import { findWebRoot } from '../../src/page/routes.js';
import { outputPath, realProblems, startRelayWithPage } from './support.js';

const tree = process.env.TP_TREE;
const python = process.env.PYTHON ?? '/usr/bin/python3';

test('the page round-trips with the real upstream compute node (TP_TREE)', async (t) => {
  if (!tree) {
    t.skip('TP_TREE not set: point it at an exported upstream token.place tree (API v1) to run the page against the real upstream node');
    return;
  }
  assert.ok(existsSync(join(tree, 'server.py')), `${tree} has no server.py`);
  const runtime = join(tree, 'utils', 'compute_node_runtime.py');
  if (!existsSync(runtime) || !readFileSync(runtime, 'utf8').includes('poll_api_v1_encrypted_work_continuously')) {
    t.skip(`TP_TREE=${tree} is a legacy-protocol tree; the page speaks the API v1 relay routes, so use an API v1 tree`);
    return;
  }
  if (!requireTool(t, CHROMIUM, 'apt-get install chromium')) return;
  if (!requireTool(t, python, 'apt-get install python3 python3-flask python3-requests python3-cryptography python3-jsonschema python3-dotenv python3-psutil'))
    return;

  const relay = await startRelayWithPage();
  t.after(() => relay.close());
  assert.ok(await hasApiV1(relay.url), 'relay serves API v1');
  const port = new URL(relay.url).port;

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    USE_MOCK_LLM: '1',
    TOKEN_PLACE_ENV: 'development',
    PYTHONUNBUFFERED: '1',
    TOKEN_PLACE_RELAY_UPSTREAMS: relay.url,
  };
  delete env.TOKEN_PLACE_RELAY_SERVER_TOKEN;
  const nodePort = await freePort();
  const upstream = spawn(
    python,
    ['server.py', '--use_mock_llm', '--server_host', '127.0.0.1', '--server_port', String(nodePort), '--relay_url', 'http://127.0.0.1', '--relay_port', port],
    {
      cwd: tree,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let nodeLog = '';
  upstream.stdout.on('data', (d: Buffer) => (nodeLog += d.toString()));
  upstream.stderr.on('data', (d: Buffer) => (nodeLog += d.toString()));
  t.after(async () => {
    if (upstream.exitCode !== null) return;
    const gone = new Promise((r) => upstream.once('exit', r));
    upstream.kill('SIGTERM');
    const kill = setTimeout(() => upstream.kill('SIGKILL'), 8000);
    await gone;
    clearTimeout(kill);
  });

  await waitFor(
    'the upstream node to register',
    async () => {
      if (upstream.exitCode !== null) throw new Error(`server.py exited: ${nodeLog.slice(-1500)}`);
      const d = (await (await fetch(`${relay.url}/relay/diagnostics`)).json()) as { total_api_v1_registered_compute_nodes?: number };
      return (d.total_api_v1_registered_compute_nodes ?? 0) >= 1 ? true : undefined;
    },
    90_000,
    250,
  );

  const browser = await openBrowser();
  t.after(() => browser.close());
  // The page loads its Markdown chunk always; the PKCS#1 v1.5 chunk only when a reply needs it.
  const assets = join(findWebRoot()!, 'assets');
  const pkcs1Chunk = readdirSync(assets).find((n) => n.startsWith('chunk-') && readFileSync(join(assets, n), 'utf8').includes('RSAES-PKCS1-V1_5'));
  assert.ok(pkcs1Chunk, 'the build has a PKCS#1 v1.5 chunk');
  const chunks: string[] = [];
  browser.page.on('request', (r) => {
    if (r.url().endsWith(`/assets/${pkcs1Chunk}`)) chunks.push(r.url());
  });
  await browser.page.goto(`${relay.url}/`);
  await browser.page.waitForSelector('body[data-keys="ready"]');
  const nonce = randomBytes(4).toString('hex');
  await sendMessage(browser.page, `interop check ${nonce}`);
  // Record any progress the node sends while the page waits (the mock model may send none).
  const phases = browser.page.evaluate(
    () =>
      new Promise<string[]>((resolve) => {
        const seen: string[] = [];
        const watch = new MutationObserver(() => {
          const p = document.querySelector('.msg.pending');
          const text = p?.getAttribute('data-phase') ? p.querySelector('.body')?.textContent : null;
          if (text && seen[seen.length - 1] !== text) seen.push(text);
          if (document.querySelector('.msg.assistant, .msg.error')) {
            watch.disconnect();
            resolve(seen);
          }
        });
        watch.observe(document.getElementById('log')!, { subtree: true, childList: true, characterData: true, attributes: true });
      }),
  );
  const reply = browser.page.locator('.msg.assistant, .msg.error').first();
  await reply.waitFor({ timeout: 90_000 });
  console.log(`progress shown while waiting for the upstream node: ${JSON.stringify(await phases)}`);
  const cls = await reply.getAttribute('class');
  const text = await reply.locator('.body').innerText();
  await browser.page.screenshot({ path: outputPath('chat-page-upstream-node.png') });
  assert.equal(cls, 'msg assistant', `expected an answer, got: ${text}`);
  assert.ok(text.trim().length > 0);
  console.log(`upstream node answered: ${text}`);
  // Upstream API v1 nodes wrap reply keys with PKCS#1 v1.5: the page had to load its fallback.
  assert.ok(chunks.length > 0, 'the PKCS#1 v1.5 fallback chunk was loaded');
  assert.ok(!relay.logText().includes(nonce), 'the relay never saw the words');
  assert.deepEqual(realProblems(browser.problems), []);
});
