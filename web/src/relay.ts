// The relay's API v1 routes as the chat page uses them. The relay only ever sees ciphertext.
import { noteDiagnostics } from './nodes.js';

export { API_V1_PROTOCOL as PROTOCOL } from '../../src/protocols/v1/wire.js';
import { API_V1_PROTOCOL as PROTOCOL } from '../../src/protocols/v1/wire.js';

/** An error with a message meant for a person, plus a machine-readable kind. */
export class UserFacingError extends Error {
  constructor(
    readonly kind: 'no_node' | 'draining' | 'unavailable' | 'timeout' | 'network' | 'cancelled' | 'node_error' | 'protocol' | 'rate_limited' | 'refused',
    message: string,
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
}

interface Answer {
  status: number;
  body: unknown;
  retryAfter: string | null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The error code a relay put in a JSON error body, if any. */
export function errorCode(body: unknown): string {
  if (!isObject(body)) return '';
  const e = body.error;
  if (typeof e === 'string') return e;
  if (isObject(e)) {
    for (const k of ['code', 'status', 'reason', 'message']) {
      const v = e[k];
      if (typeof v === 'string' && v) return v;
    }
  }
  if (typeof body.code === 'string') return body.code;
  if (typeof body.status === 'string') return body.status;
  return '';
}

async function call(path: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Answer> {
  const { timeoutMs = 15_000, ...rest } = init;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  const outer = rest.signal;
  if (outer) outer.addEventListener('abort', () => ctrl.abort(), { once: true });
  let res: Response;
  try {
    res = await fetch(path, { cache: 'no-store', ...rest, signal: ctrl.signal });
  } catch {
    clearTimeout(timer);
    if (outer?.aborted) throw new UserFacingError('cancelled', 'Stopped.');
    throw new UserFacingError('network', 'Cannot reach the relay. Check your connection; the relay may be restarting.');
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  } finally {
    clearTimeout(timer);
  }
  return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
}

function postJson(path: string, payload: unknown, extra: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Answer> {
  return call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), ...extra });
}

/** Turns a non-success answer into words a person understands. */
export function explain(a: Answer, during: string): UserFacingError {
  const code = errorCode(a.body).toLowerCase();
  if (a.status === 503 || a.status === 502 || a.status === 504) {
    if (/drain|shutting|shutdown/.test(code)) {
      return new UserFacingError('draining', 'The relay is restarting for maintenance and is not taking new messages. Try again in a moment.');
    }
    if (/no_registered|no_matching|no_available|no servers|no_compute|no_node/.test(code)) {
      return new UserFacingError(
        'no_node',
        'No compute node is online right now, so nobody can answer. Try again once a node has joined (the status above shows how many are online).',
      );
    }
    return new UserFacingError('unavailable', 'The relay is busy or unavailable at the moment. Try again in a moment.');
  }
  if (a.status === 429) {
    const wait = a.retryAfter ? ` Wait about ${a.retryAfter} seconds.` : '';
    return new UserFacingError('rate_limited', `Too many messages in a short time.${wait}`);
  }
  if (a.status === 410) {
    if (/cancel/.test(code)) return new UserFacingError('cancelled', 'The request was cancelled.');
    return new UserFacingError('timeout', 'The compute node did not answer in time, so the relay gave up on this message. Please send it again.');
  }
  if (a.status === 413) return new UserFacingError('protocol', 'This conversation is too long for the relay. Start a new chat.');
  return new UserFacingError('protocol', `The relay refused the message while ${during} (HTTP ${a.status}${code ? `, ${code}` : ''}).`);
}

export interface NodeChoice {
  serverPublicKey: string;
  model: string;
}

export const DEFAULT_MODEL = 'qwen3-8b-instruct';

/** Asks the relay for a node; `model` '' lets the relay use its default model. */
export async function pickNode(model: string, signal?: AbortSignal): Promise<NodeChoice> {
  const query = model ? `?model=${encodeURIComponent(model)}` : '';
  const a = await call(`/api/v1/relay/servers/next${query}`, { signal });
  if (a.status !== 200 || !isObject(a.body)) throw explain(a, 'looking for a compute node');
  const key = a.body.server_public_key;
  if (typeof key !== 'string' || key === '') throw new UserFacingError('no_node', 'No compute node is online right now, so nobody can answer.');
  const resolved = [a.body.resolved_model, a.body.requested_model].find((m): m is string => typeof m === 'string' && m !== '') ?? DEFAULT_MODEL;
  return { serverPublicKey: key, model: resolved };
}

export interface Submitted {
  /** Absolute time (ms since epoch) after which the relay will have dropped the request. */
  deadline: number;
}

export async function submit(
  payload: {
    server_public_key: string;
    client_public_key: string;
    request_id: string;
    cancel_token: string;
    chat_history: string;
    cipherkey: string;
    iv: string;
  },
  signal?: AbortSignal,
): Promise<Submitted> {
  const a = await postJson('/api/v1/relay/requests', { ...payload, protocol: PROTOCOL, version: 1 }, { signal });
  if (a.status === 404) throw new UserFacingError('no_node', 'The compute node went offline just now.');
  if (a.status !== 200) throw explain(a, 'sending your message');
  const remaining = isObject(a.body) ? (a.body.request_deadline_remaining_seconds ?? a.body.request_ttl_seconds) : undefined;
  const seconds = typeof remaining === 'number' && remaining > 0 ? remaining : 480;
  return { deadline: Date.now() + seconds * 1000 };
}

export interface EncryptedReply {
  chat_history: string;
  cipherkey: string;
  iv: string;
}

/**
 * Waits for the reply. The relay holds each retrieve open until there is news (a long poll),
 * so the next poll starts right away after a 202; only if the relay answers 202 instantly do we
 * pause briefly.
 */
export async function waitForReply(
  clientKey: string,
  requestId: string,
  deadline: number,
  signal: AbortSignal,
  onProgress?: (encrypted: EncryptedReply) => void,
): Promise<EncryptedReply> {
  let networkFailures = 0;
  while (Date.now() < deadline) {
    if (signal.aborted) throw new UserFacingError('cancelled', 'Stopped.');
    const started = Date.now();
    let a: Answer;
    try {
      a = await postJson('/api/v1/relay/responses/retrieve', { client_public_key: clientKey, request_id: requestId }, { signal, timeoutMs: 60_000 });
    } catch (err) {
      if (err instanceof UserFacingError && err.kind === 'network' && networkFailures < 5) {
        networkFailures += 1;
        await sleep(Math.min(8000, 500 * 2 ** networkFailures), signal);
        continue;
      }
      throw err;
    }
    networkFailures = 0;
    if (a.status === 202) {
      const p = isObject(a.body) && isObject(a.body.encrypted_progress) ? a.body.encrypted_progress : null;
      const news = p !== null && typeof p.ciphertext === 'string' && typeof p.cipherkey === 'string' && typeof p.iv === 'string';
      if (news && onProgress) onProgress({ chat_history: p.ciphertext as string, cipherkey: p.cipherkey as string, iv: p.iv as string });
      // A record is news: ask again at once (a streamed answer's next words may be waiting).
      // Only a relay that answers 202 at once with nothing new gets a pause.
      if (!news && Date.now() - started < 150) await sleep(400, signal);
      continue;
    }
    if (a.status === 200 && isObject(a.body)) {
      const ct = typeof a.body.chat_history === 'string' ? a.body.chat_history : a.body.ciphertext;
      const { cipherkey, iv } = a.body;
      if (typeof ct === 'string' && typeof cipherkey === 'string' && typeof iv === 'string') return { chat_history: ct, cipherkey, iv };
      throw new UserFacingError('protocol', 'The relay returned an answer in a shape this page does not understand.');
    }
    if (a.status === 404) throw new UserFacingError('timeout', 'The relay no longer knows this message (it may have restarted). Please send it again.');
    throw explain(a, 'waiting for the answer');
  }
  throw new UserFacingError('timeout', 'The compute node did not answer in time. Please send your message again.');
}

export async function cancel(clientKey: string, requestId: string, cancelToken: string): Promise<void> {
  try {
    await postJson(
      '/api/v1/relay/requests/cancel',
      { client_public_key: clientKey, request_id: requestId, cancel_token: cancelToken, reason: 'requester_cancelled' },
      { timeoutMs: 5000 },
    );
  } catch {
    // best effort: the relay's own deadline will drop it
  }
}

export interface RelayStatus {
  nodes: number | null;
  queue: number | null;
  draining: boolean;
}

function count(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (Array.isArray(v)) return v.length;
  return null;
}

/** Reads /relay/diagnostics, tolerating the field names of different relay versions. */
export function parseDiagnostics(body: unknown): RelayStatus {
  if (!isObject(body)) return { nodes: null, queue: null, draining: false };
  const nested = (k: string): Record<string, unknown> => (isObject(body[k]) ? body[k] : {});
  const nodesObj = nested('nodes');
  const queueObj = nested('queue');
  const nodes =
    count(body.total_api_v1_registered_compute_nodes) ??
    count(body.nodes_online) ??
    count(nodesObj.online) ??
    count(nodesObj.total) ??
    count(nodesObj.v1) ??
    count(body.api_v1_registered_compute_nodes) ??
    count(body.registered_compute_nodes) ??
    count(body.nodes);
  let queue =
    count(body.queue_depth) ??
    count(body.total_queue_depth) ??
    count(body.queued_requests) ??
    count(queueObj.depth) ??
    count(queueObj.total) ??
    count(queueObj.queued) ??
    (typeof body.queue === 'number' ? count(body.queue) : null);
  if (queue === null) {
    const list = Array.isArray(body.api_v1_registered_compute_nodes) ? body.api_v1_registered_compute_nodes : Array.isArray(body.nodes) ? body.nodes : null;
    if (list) queue = list.reduce<number>((sum, n) => sum + (isObject(n) && typeof n.queue_depth === 'number' ? n.queue_depth : 0), 0);
  }
  const status = typeof body.status === 'string' ? body.status : '';
  const draining = body.draining === true || /drain/.test(status);
  return { nodes, queue, draining };
}

export async function relayStatus(): Promise<RelayStatus | null> {
  try {
    const a = await call('/relay/diagnostics', { timeoutMs: 5000 });
    if (a.status === 503 && /drain/.test(errorCode(a.body).toLowerCase())) return { nodes: null, queue: null, draining: true };
    if (a.status === 200) {
      noteDiagnostics(a.body);
      return parseDiagnostics(a.body);
    }
    // A relay without diagnostics: its health check still says whether it is up or draining.
    const h = await call('/healthz', { timeoutMs: 5000 });
    const body = isObject(h.body) ? h.body : {};
    return { nodes: null, queue: null, draining: body.status === 'draining' };
  } catch {
    return null;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new UserFacingError('cancelled', 'Stopped.'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new UserFacingError('cancelled', 'Stopped.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
