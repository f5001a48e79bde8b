// Peers for the abuse bench and the rate-limit wire test: an honest client that does real
// encrypted chat turns at the upstream browser's cadence, and a flooder. Each speaks from a
// chosen loopback address (127.0.0.0/8 all routes to lo on Linux), so the relay sees distinct
// clients on one machine without any forwarding headers.
import http from 'node:http';
import { decryptJson, encryptJson, type KeyPair } from '../../src/crypto/index.js';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown> | null;
  ms: number;
}

/** Keep-alive HTTP/1.1 from one local address. Bounded: at most `sockets` connections. */
export class LocalHttp {
  readonly #agent: http.Agent;

  constructor(
    readonly localAddress: string,
    sockets = 4,
  ) {
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: sockets, localAddress });
  }

  request(method: 'GET' | 'POST', url: string, body?: unknown, timeoutMs = 15_000): Promise<Answer> {
    const started = performance.now();
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(url, {
        method,
        agent: this.#agent,
        timeout: timeoutMs,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length },
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let parsed: Record<string, unknown> | null;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            parsed = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, ms: performance.now() - started });
        });
      });
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

export interface TurnResult {
  /** Every HTTP status the client saw during the turn, in order. */
  statuses: number[];
  /** Latency of each request of the turn (ms); held long-polls excluded. */
  requestMs: number[];
  /** From submit to the decrypted reply (ms). */
  turnaroundMs: number;
  reply: unknown;
}

/**
 * One chat turn as the upstream browser page does it: ask for a node, submit the encrypted
 * history, then poll for the answer every `pollMs` (the relay may hold each poll open).
 */
export async function honestTurn(
  client: LocalHttp,
  relayUrl: string,
  keys: KeyPair,
  text: string,
  opts: { pollMs?: number; deadlineMs?: number } = {},
): Promise<TurnResult> {
  const pollMs = opts.pollMs ?? 500;
  const deadline = Date.now() + (opts.deadlineMs ?? 30_000);
  const statuses: number[] = [];
  const requestMs: number[] = [];
  let serverKey: string | undefined;
  while (serverKey === undefined) {
    const next = await client.request('GET', `${relayUrl}/next_server`);
    statuses.push(next.status);
    requestMs.push(next.ms);
    if (typeof next.body?.server_public_key === 'string') serverKey = next.body.server_public_key;
    else if (Date.now() > deadline) throw new Error('no compute node at /next_server');
    else await new Promise((r) => setTimeout(r, pollMs));
  }
  const history = [{ role: 'user', content: text }];
  const enc = encryptJson(history, serverKey);
  const started = performance.now();
  const submitted = await client.request('POST', `${relayUrl}/faucet`, {
    server_public_key: serverKey,
    client_public_key: keys.publicKeyWire,
    chat_history: enc.ciphertext,
    cipherkey: enc.cipherkey,
    iv: enc.iv,
  });
  statuses.push(submitted.status);
  requestMs.push(submitted.ms);
  if (submitted.status !== 200) throw new Error(`faucet answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
  for (;;) {
    const polled = await client.request('POST', `${relayUrl}/retrieve`, { client_public_key: keys.publicKeyWire });
    statuses.push(polled.status);
    const body = polled.body;
    if (polled.status === 200 && typeof body?.chat_history === 'string') {
      const reply = decryptJson({ ciphertext: body.chat_history, cipherkey: String(body.cipherkey), iv: String(body.iv) }, keys.privateKeyPem);
      return { statuses, requestMs, turnaroundMs: performance.now() - started, reply };
    }
    if (Date.now() > deadline) throw new Error('no reply before the deadline');
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export type FloodTarget = 'retrieve' | 'next_server' | 'faucet' | 'livez';

export interface FloodOptions {
  relayUrl: string;
  /** Local addresses to flood from, round robin (one address = one flooding client). */
  addresses: string[];
  target: FloodTarget;
  /** Requests in flight at once, across all addresses. */
  concurrency: number;
  /** The client key every request names (a flood of one key from many addresses). */
  clientKey: string;
  /** Hard stop, whatever happens. */
  maxMs: number;
  maxRequests: number;
}

export interface FloodStats {
  sent: number;
  byStatus: Record<string, number>;
  errors: number;
  elapsedMs: number;
}

function floodRequest(target: FloodTarget, clientKey: string): { method: 'GET' | 'POST'; path: string; body?: unknown } {
  switch (target) {
    case 'retrieve':
      return { method: 'POST', path: '/retrieve', body: { client_public_key: clientKey } };
    case 'faucet':
      return {
        method: 'POST',
        path: '/faucet',
        body: { server_public_key: 'x', client_public_key: clientKey, chat_history: 'AAAA', cipherkey: 'AAAA', iv: 'AAAA' },
      };
    case 'livez':
      return { method: 'GET', path: '/livez' };
    default:
      return { method: 'GET', path: '/next_server' };
  }
}

/** Sends as fast as the relay answers until stopped, `maxMs` passes or `maxRequests` are sent. */
export function startFlood(opts: FloodOptions): { stop(): Promise<FloodStats> } {
  const clients = opts.addresses.map((a) => new LocalHttp(a, Math.ceil(opts.concurrency / opts.addresses.length)));
  const stats: FloodStats = { sent: 0, byStatus: {}, errors: 0, elapsedMs: 0 };
  const started = performance.now();
  let stopped = false;
  const { method, path, body } = floodRequest(opts.target, opts.clientKey);
  const lane = async (i: number): Promise<void> => {
    const client = clients[i % clients.length]!;
    while (!stopped && stats.sent < opts.maxRequests && performance.now() - started < opts.maxMs) {
      stats.sent++;
      try {
        const answer = await client.request(method, `${opts.relayUrl}${path}`, body, 15_000);
        stats.byStatus[answer.status] = (stats.byStatus[answer.status] ?? 0) + 1;
      } catch {
        stats.errors++;
      }
    }
  };
  const lanes = Array.from({ length: opts.concurrency }, (_, i) => lane(i));
  return {
    async stop() {
      stopped = true;
      await Promise.all(lanes);
      for (const c of clients) c.close();
      stats.elapsedMs = performance.now() - started;
      return stats;
    },
  };
}
