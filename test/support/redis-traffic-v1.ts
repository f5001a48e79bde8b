// API v1 honest traffic that rides out a Redis failover: every step retries a 503 (or a broken
// connection) until a deadline, admission retries with the same request id (idempotent), and a
// node whose registration was lost registers again. So a request accepted (200) and never
// delivered is a loss of the store, not of the driver. Round trip k: /servers/next and submit on
// replica k, fetch on replica k+1; node n polls replica n+1 and answers through n+2.
import { call } from '../integration/cluster.js';
import { CAPS } from './v1-capabilities.js';

export interface FailoverTraffic {
  /** Round trip -> ms (since the epoch) when its admission got a 200. */
  accepted: Map<number, number>;
  delivered: Map<number, number>;
  wrongAnswers: number;
  statuses: Map<string, number>;
}

const PROTOCOL = { protocol: 'tokenplace_api_v1_relay_e2ee', version: 1 };
const b64 = (text: string) => Buffer.from(text).toString('base64');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runV1FailoverTraffic(options: {
  urls: string[];
  nodes: number;
  roundTrips: number;
  concurrency: number;
  giveUpMs: number;
}): Promise<FailoverTraffic> {
  const { urls } = options;
  const at = (i: number) => urls[i % urls.length]!;
  const out: FailoverTraffic = { accepted: new Map(), delivered: new Map(), wrongAnswers: 0, statuses: new Map() };
  const note = (status: number) => out.statuses.set(String(status), (out.statuses.get(String(status)) ?? 0) + 1);
  let stop = false;
  const halt = new AbortController();
  const keys = Array.from({ length: options.nodes }, (_, i) => b64(`fnode-${i}`));
  const register = async (i: number) => {
    for (;;) {
      const r = await call(`${at(i)}/api/v1/relay/servers/register`, { server_public_key: keys[i], capabilities: CAPS });
      if (r.ok && r.status === 200) return;
      if (stop) return;
      await sleep(50);
    }
  };
  for (let i = 0; i < keys.length; i += 1) await register(i);
  const node = async (i: number) => {
    while (!stop) {
      const work = await call(`${at(i + 1)}/api/v1/relay/servers/poll`, { server_public_key: keys[i] }, 20_000, halt.signal);
      if (stop) return;
      if (!work.ok) {
        await sleep(50);
        continue;
      }
      if (work.status === 404 || work.status === 401 || work.status === 403) {
        await register(i);
        continue;
      }
      if (work.status !== 200) {
        note(work.status);
        await sleep(50);
        continue;
      }
      if (typeof work.body.request_id !== 'string') continue;
      const body = {
        ...PROTOCOL,
        client_public_key: work.body.client_public_key,
        request_id: work.body.request_id,
        chat_history: b64(`answer:${String(work.body.ciphertext)}`),
        cipherkey: work.body.cipherkey,
        iv: work.body.iv,
      };
      for (let attempt = 0; attempt < 100 && !stop; attempt += 1) {
        const sent = await call(`${at(i + 2)}/api/v1/relay/responses`, body);
        if (sent.ok && sent.status !== 503) break;
        if (sent.ok) note(sent.status);
        await sleep(50);
      }
    }
  };
  let next = 0;
  const client = async (c: number) => {
    const clientKey = b64(`fclient-${c}`);
    for (let k = next++; k < options.roundTrips; k = next++) {
      const requestId = `rt-${k}`;
      const ciphertext = b64(`question-${k}`);
      const giveUp = Date.now() + options.giveUpMs;
      let admitted = false;
      // A retry resubmits the same request to the same node (idempotent); a different node would
      // be a different admission (409 request_id_conflict).
      let nodeKey: unknown = null;
      while (!admitted && Date.now() < giveUp) {
        if (nodeKey === null) {
          const chosen = await call(`${at(k)}/api/v1/relay/servers/next`);
          if (!chosen.ok || chosen.status !== 200) {
            if (chosen.ok) note(chosen.status);
            await sleep(50);
            continue;
          }
          nodeKey = chosen.body.server_public_key;
        }
        const sent = await call(`${at(k)}/api/v1/relay/requests`, {
          ...PROTOCOL,
          server_public_key: nodeKey,
          client_public_key: clientKey,
          request_id: requestId,
          ciphertext,
          cipherkey: b64('key'),
          iv: b64('iv'),
        });
        if (sent.ok && sent.status === 200) admitted = true;
        else {
          if (sent.ok) note(sent.status);
          await sleep(50);
        }
      }
      if (!admitted) continue;
      out.accepted.set(k, Date.now());
      while (Date.now() < giveUp + options.giveUpMs) {
        const got = await call(`${at(k + 1)}/api/v1/relay/responses/retrieve`, { client_public_key: clientKey, request_id: requestId, ack: true });
        if (got.ok && got.status === 200) {
          out.delivered.set(k, (out.delivered.get(k) ?? 0) + 1);
          if (got.body.chat_history !== b64(`answer:${ciphertext}`)) out.wrongAnswers += 1;
          break;
        }
        if (got.ok && got.status !== 202) {
          note(got.status);
          // 404: unknown here (lost at the failover, or not yet visible); 410: ended. Both final
          // once the store is back, but a 404 may be the failover itself: keep asking until give-up.
          if (got.status === 410) break;
          await sleep(100);
        }
      }
    }
  };
  const nodes = keys.map((_, i) => node(i));
  await Promise.all(Array.from({ length: options.concurrency }, (_, c) => client(c)));
  stop = true;
  halt.abort();
  await Promise.all(nodes);
  return out;
}
