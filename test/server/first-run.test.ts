// README command 1 (`npm start` → `serve --demo-node`): the relay comes up with a demo compute
// node already registered on the API v1 routes the chat page uses, and prints the page's URL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startRelayProcess } from '../support/relay-process.js';

describe('first run: serve --demo-node', () => {
  it('offers the demo node to the page, serves the page, prints the URL, stops cleanly', async () => {
    const relay = await startRelayProcess({}, ['--demo-node']);
    try {
      let next: Response | undefined;
      for (let i = 0; i < 50; i += 1) {
        next = await fetch(`${relay.url}/api/v1/relay/servers/next`);
        if (next.status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(next?.status, 200, relay.output());
      const page = await fetch(`${relay.url}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.match(await page.text(), /<html/i);
      // The URL is printed once the node has registered, a moment after the relay knows it.
      for (let i = 0; i < 50 && !relay.output().includes(`Open ${relay.url}/ in your browser`); i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(relay.output().includes(`Open ${relay.url}/ in your browser`), relay.output());
    } finally {
      relay.child.kill('SIGTERM');
    }
    assert.equal(await relay.exited, 0);
  });
});
