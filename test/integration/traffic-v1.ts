// Simulated API v1 peers spread round-robin over relay replicas: node n registers on replica n,
// polls replica n+1 and answers through replica n+2; each client asks for a node and submits on
// one replica, then fetches its answer from the next. Every hand-over crosses replicas, and every
// request id is unique, so the counts show loss and double delivery exactly.
import { call } from './cluster.js';
import { CAPS } from '../support/v1-capabilities.js';

export interface V1TrafficOptions {
  urls: string[];
  nodes: number;
  roundTrips: number;
  concurrency: number;
}

export interface V1TrafficResult {
  accepted: Set<number>;
  delivered: Map<number, number>;
  /** How many times a node was handed each request. */
  received: Map<number, number>;
  wrongAnswers: number;
  /** Nodes /servers/next offered, by node key (the shared round-robin spreads them). */
  offered: Map<string, number>;
  /** Clear JSON errors seen ("status code" -> count). */
  errorStatuses: Map<string, number>;
  seconds: number;
}

const PROTOCOL = { protocol: 'tokenplace_api_v1_relay_e2ee', version: 1 };
const b64 = (text: string) => Buffer.from(text).toString('base64');

export async function runV1Traffic(options: V1TrafficOptions): Promise<V1TrafficResult> {
  const { urls } = options;
  const at = (i: number) => urls[i % urls.length]!;
  const result: V1TrafficResult = {
    accepted: new Set(),
    delivered: new Map(),
    received: new Map(),
    wrongAnswers: 0,
    offered: new Map(),
    errorStatuses: new Map(),
    seconds: 0,
  };
  const noteError = (status: number, body: Record<string, unknown>) => {
    const code = (body.error as { code?: unknown } | undefined)?.code ?? body.code;
    const k = `${status} ${String(code)}`;
    result.errorStatuses.set(k, (result.errorStatuses.get(k) ?? 0) + 1);
  };
  let stop = false;
  // Ends the nodes' held polls at once when the clients are done.
  const halt = new AbortController();
  const headers = async (url: string, body: unknown) => call(url, body, 20_000, halt.signal);

  const keys = Array.from({ length: options.nodes }, (_, i) => b64(`node-${i}`));
  for (const [i, key] of keys.entries()) {
    const registered = await call(`${at(i)}/api/v1/relay/servers/register`, { server_public_key: key, capabilities: CAPS });
    if (!registered.ok || registered.status !== 200) throw new Error(`node ${i} did not register`);
  }

  const node = async (i: number): Promise<void> => {
    const key = keys[i]!;
    while (!stop) {
      const work = await headers(`${at(i + 1)}/api/v1/relay/servers/poll`, { server_public_key: key });
      if (stop) return;
      if (!work.ok) continue;
      if (work.status !== 200) {
        noteError(work.status, work.body);
        continue;
      }
      if (typeof work.body.request_id !== 'string') continue;
      const id = Number(work.body.request_id.slice(3));
      result.received.set(id, (result.received.get(id) ?? 0) + 1);
      const sent = await call(`${at(i + 2)}/api/v1/relay/responses`, {
        ...PROTOCOL,
        client_public_key: work.body.client_public_key,
        request_id: work.body.request_id,
        chat_history: b64(`answer:${String(work.body.ciphertext)}`),
        cipherkey: work.body.cipherkey,
        iv: work.body.iv,
      });
      if (!sent.ok || sent.status !== 200) noteError(sent.ok ? sent.status : 0, sent.ok ? sent.body : {});
    }
  };

  let next = 0;
  const client = async (c: number): Promise<void> => {
    const clientKey = b64(`client-${c}`);
    for (let k = next++; k < options.roundTrips; k = next++) {
      const submitAt = at(k);
      const chosen = await call(`${submitAt}/api/v1/relay/servers/next`);
      if (!chosen.ok || chosen.status !== 200) {
        if (chosen.ok) noteError(chosen.status, chosen.body);
        continue;
      }
      const nodeKey = String(chosen.body.server_public_key);
      result.offered.set(nodeKey, (result.offered.get(nodeKey) ?? 0) + 1);
      const requestId = `rt-${k}`;
      const ciphertext = b64(`question-${k}`);
      const admitted = await call(`${submitAt}/api/v1/relay/requests`, {
        ...PROTOCOL,
        server_public_key: nodeKey,
        client_public_key: clientKey,
        request_id: requestId,
        ciphertext,
        cipherkey: b64('key'),
        iv: b64('iv'),
      });
      if (!admitted.ok || admitted.status !== 200) {
        if (admitted.ok) noteError(admitted.status, admitted.body);
        continue;
      }
      result.accepted.add(k);
      for (let attempt = 0; attempt < 50; attempt += 1) {
        // ack: the answer is dropped with this fetch (without it, it stays until its TTL).
        const got = await call(`${at(k + 1)}/api/v1/relay/responses/retrieve`, { client_public_key: clientKey, request_id: requestId, ack: true });
        if (!got.ok || got.status === 202) continue;
        if (got.status !== 200) {
          noteError(got.status, got.body);
          break;
        }
        result.delivered.set(k, (result.delivered.get(k) ?? 0) + 1);
        if (got.body.chat_history !== b64(`answer:${ciphertext}`)) result.wrongAnswers += 1;
        break;
      }
    }
  };

  const started = Date.now();
  const nodes = keys.map((_, i) => node(i));
  await Promise.all(Array.from({ length: options.concurrency }, (_, c) => client(c)));
  result.seconds = (Date.now() - started) / 1000;
  stop = true;
  halt.abort();
  await Promise.all(nodes);
  return result;
}
