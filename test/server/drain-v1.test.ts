// SIGTERM of a memory-store relay under API v1 load, on the built server over a real port.
// Every submission either ends delivered (the client fetched its answer) or was refused with a
// stable code (503 relay_draining while draining) or never reached the relay (connection
// refused after exit); none is accepted and then dropped. Peers behave as the real ones: the
// node honours next_ping_in_x_seconds and presents its credential; clients poll for their answer
// every 250 ms.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startRelayProcess } from '../support/relay-process.js';
import { CAPS } from '../support/v1-capabilities.js';

const PROTOCOL = { protocol: 'tokenplace_api_v1_relay_e2ee', version: 1 };
const b64 = (text: string) => Buffer.from(text).toString('base64');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Answer = { status: number; body: Record<string, unknown> } | null;
async function post(url: string, body: unknown): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return null;
  }
}

describe('memory store: SIGTERM under API v1 load', () => {
  it('every submission is delivered or refused with a code; none is accepted and dropped', { timeout: 60_000 }, async () => {
    const relay = await startRelayProcess({
      TOKENPLACE_RATE_LIMIT: '0',
      TOKENPLACE_RELAY_DRAIN_SECONDS: '10',
      TOKENPLACE_RELAY_DRAIN_LINGER_MS: '1000',
      TOKEN_PLACE_API_V1_RELAY_POLL_WAIT_SECONDS: '5',
      TOKENPLACE_RELAY_RETRIEVE_HOLD_MS: '1000',
    });
    const { url } = relay;
    const nodeKey = b64('drain-node');
    const reg = await post(`${url}/api/v1/relay/servers/register`, { server_public_key: nodeKey, capabilities: CAPS });
    assert.equal(reg?.status, 200);
    const credential = String(reg.body.control_credential);
    let running = true;
    const node = (async () => {
      while (running) {
        const work = await post(`${url}/api/v1/relay/servers/poll`, { server_public_key: nodeKey, control_credential: credential });
        if (work === null) return; // relay gone
        if (work.status !== 200) continue;
        if (typeof work.body.request_id === 'string') {
          await post(`${url}/api/v1/relay/responses`, {
            ...PROTOCOL,
            server_public_key: nodeKey,
            control_credential: credential,
            client_public_key: work.body.client_public_key,
            request_id: work.body.request_id,
            chat_history: b64(`answer:${String(work.body.ciphertext)}`),
            cipherkey: 'k',
            iv: 'i',
          });
        }
        await sleep(Number(work.body.next_ping_in_x_seconds ?? 0) * 1000);
      }
    })();
    const counts = { accepted: 0, delivered: 0, refused: new Map<string, number>(), unreachable: 0, dropped: 0 };
    let next = 0;
    const client = async (c: number) => {
      const clientKey = b64(`drain-client-${c}`);
      for (;;) {
        const k = next++;
        const ciphertext = b64(`q-${k}`);
        const admitted = await post(`${url}/api/v1/relay/requests`, {
          ...PROTOCOL,
          server_public_key: nodeKey,
          client_public_key: clientKey,
          request_id: `r-${k}`,
          ciphertext,
          cipherkey: 'k',
          iv: 'i',
        });
        if (admitted === null) {
          counts.unreachable += 1;
          return;
        }
        if (admitted.status !== 200) {
          const code = String(admitted.body.code);
          counts.refused.set(code, (counts.refused.get(code) ?? 0) + 1);
          await sleep(100);
          continue;
        }
        counts.accepted += 1;
        let delivered = false;
        for (let attempt = 0; attempt < 100 && !delivered; attempt += 1) {
          const got = await post(`${url}/api/v1/relay/responses/retrieve`, { client_public_key: clientKey, request_id: `r-${k}`, ack: true });
          if (got === null) break;
          if (got.status === 200) delivered = got.body.chat_history === b64(`answer:${ciphertext}`);
          else if (got.status !== 202) break;
          else await sleep(250);
        }
        if (delivered) counts.delivered += 1;
        else counts.dropped += 1;
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    await sleep(2000);
    relay.child.kill('SIGTERM');
    await Promise.all(clients);
    running = false;
    await node;
    assert.equal(await relay.exited, 0);
    assert.ok(counts.accepted > 20, `load ran (${counts.accepted} accepted)`);
    assert.ok((counts.refused.get('relay_draining') ?? 0) > 0, 'the drain refused new work with its code');
    assert.deepEqual(
      [...counts.refused.keys()].filter((c) => c !== 'relay_draining'),
      [],
      'no other refusal',
    );
    assert.equal(counts.dropped, 0, `accepted ${counts.accepted}, delivered ${counts.delivered}`);
    assert.equal(counts.delivered, counts.accepted);
  });
});
