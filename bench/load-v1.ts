// The API v1 full cycle for the load generator: K nodes register, then loop servers/poll →
// responses; C clients loop servers/next → requests → responses/retrieve (ack: true, so each
// answer is handed out once and dropped, as the relay's own client does). Every ciphertext carries
// an id and every answer is checked against its request. Bounded by deadlines like load.ts.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildRequest, HttpConn } from './http-conn.js';
import { b64ish, cipher, CIPHERKEY, fakeKey, idOf, IV } from './payload.js';
import { Samples } from './stats.js';

const now = (): number => performance.now();
export const V1_PROTOCOL = { protocol: 'tokenplace_api_v1_relay_e2ee', version: 1 } as const;
export const V1_PATH = '/api/v1/relay';

/** What a simulated node announces: one model, so `servers/next?model=` can tell node groups apart. */
export function v1Capabilities(model: string): Record<string, unknown> {
  return {
    supported_model_ids: [model],
    active_context_tier: '8k-fast',
    maximum_total_context_tokens: 8192,
    maximum_output_tokens: 1024,
    default_output_token_reservation: 512,
    max_concurrency: 4,
    backend_class: 'cpu',
  };
}

export interface V1CycleJob {
  kind: 'cycleV1';
  url: string;
  nodes: number;
  clients: number;
  durationMs: number;
  warmupMs: number;
  cipherChars: number;
  model: string;
  pauseMs?: number;
  clientAddresses?: string[];
  nodeAddresses?: string[];
  tag?: string;
}

const pick = (addresses: string[] | undefined, i: number): string | undefined =>
  addresses === undefined || addresses.length === 0 ? undefined : addresses[i % addresses.length];

/** Registers a node; resolves with its control credential (null when the relay gives none). */
export async function v1Register(
  conn: HttpConn,
  key: string,
  model: string,
  credential: string | null = null,
): Promise<{ status: number; credential: string | null }> {
  const answer = await conn.json(
    'POST',
    `${V1_PATH}/servers/register`,
    { server_public_key: key, capabilities: v1Capabilities(model), ...(credential === null ? {} : { control_credential: credential }) },
    10_000,
  );
  const given = answer.data.control_credential;
  return { status: answer.status, credential: typeof given === 'string' ? given : credential };
}

/** The node's answer to one work item: the request's ciphertext echoed (its id comes back with it). */
export function v1ResponseBody(key: string, credential: string | null, work: Record<string, unknown>): Record<string, unknown> {
  return {
    ...V1_PROTOCOL,
    server_public_key: key,
    ...(credential === null ? {} : { control_credential: credential }),
    client_public_key: work.client_public_key,
    request_id: work.request_id,
    chat_history: work.ciphertext,
    cipherkey: work.cipherkey,
    iv: work.iv,
  };
}

/** `_<code>` of a refusal's JSON body (`{error: {code}}`), so a bench error names the limit that refused. */
function refusalCode(body: Buffer): string {
  try {
    const code = (JSON.parse(body.toString('utf8')) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? `_${code}` : '';
  } catch {
    return '';
  }
}

export async function v1Cycle(job: V1CycleJob): Promise<Record<string, unknown>> {
  const filler = b64ish(job.cipherChars, 11);
  const tag = job.tag ?? 'v1';
  const run = Date.now().toString(36); // request ids stay unique when keys are reused by a later job
  const pickedAt = new Map<number, number>();
  const sourcedAt = new Map<number, number>();
  const pickup = new Samples();
  const delivery = new Samples();
  const observed = new Samples();
  const errors: Record<string, number> = {};
  const err = (what: string): void => {
    errors[what] = (errors[what] ?? 0) + 1;
  };
  let completed = 0;
  let completedInWindow = 0;
  let wrongReply = 0;
  let nextId = 1;
  let nodesStop = false;
  const nodeConns: HttpConn[] = [];
  const t0 = now();
  const measureFrom = t0 + job.warmupMs;
  const end = measureFrom + job.durationMs;
  const hardEnd = end + 25_000;

  const nodeLoop = async (n: number): Promise<void> => {
    const conn = HttpConn.fromUrl(job.url, pick(job.nodeAddresses, n));
    nodeConns.push(conn);
    const key = fakeKey(`${tag}node`, n);
    let credential: string | null = null;
    let registered = false;
    while (!nodesStop && now() < hardEnd) {
      try {
        if (!registered) {
          const reg = await v1Register(conn, key, job.model, credential);
          credential = reg.credential;
          registered = reg.status === 200;
          if (!registered) {
            err(`register_${reg.status}`);
            await sleep(100);
          }
          continue;
        }
        const polled = await conn.json(
          'POST',
          `${V1_PATH}/servers/poll`,
          { server_public_key: key, ...(credential === null ? {} : { control_credential: credential }) },
          30_000,
        );
        if (polled.status === 404) {
          registered = false;
          continue;
        }
        if (polled.status !== 200) {
          err(`poll_${polled.status}`);
          await sleep(100);
          continue;
        }
        if (typeof polled.data.request_id !== 'string') continue;
        const id = idOf(polled.data.ciphertext);
        pickedAt.set(id, now());
        sourcedAt.set(id, now());
        const sent = await conn.request('POST', `${V1_PATH}/responses`, v1ResponseBody(key, credential, polled.data), 10_000);
        if (sent.status !== 200) err(`responses_${sent.status}`);
      } catch {
        if (!nodesStop) {
          err('node_failed');
          await sleep(100);
        }
      }
    }
    // A node that stops says so, as the relay's own node does: no client is sent to it after.
    if (registered)
      await conn
        .request('POST', `${V1_PATH}/servers/unregister`, { server_public_key: key, ...(credential === null ? {} : { control_credential: credential }) }, 2000)
        .catch(() => undefined);
    conn.close();
  };

  const clientLoop = async (c: number): Promise<void> => {
    const conn = HttpConn.fromUrl(job.url, pick(job.clientAddresses, c));
    const key = fakeKey(`${tag}client`, c);
    const nextRaw = buildRequest('GET', conn.host, `${V1_PATH}/servers/next?model=${encodeURIComponent(job.model)}`);
    try {
      while (now() < end) {
        let server: string;
        try {
          const answer = await conn.send(nextRaw, 10_000);
          const data = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
          if (answer.status !== 200 || typeof data.server_public_key !== 'string') {
            err(`next_${answer.status}`);
            await sleep(50);
            continue;
          }
          server = data.server_public_key;
        } catch {
          err('next_failed');
          await sleep(100);
          continue;
        }
        const id = nextId++;
        const requestId = `${tag}-${run}-${c}-${id}`;
        const start = now();
        try {
          const answer = await conn.request(
            'POST',
            `${V1_PATH}/requests`,
            {
              ...V1_PROTOCOL,
              server_public_key: server,
              client_public_key: key,
              request_id: requestId,
              ciphertext: cipher(id, job.cipherChars, filler),
              cipherkey: CIPHERKEY,
              iv: IV,
            },
            10_000,
          );
          if (answer.status !== 200) {
            err(`requests_${answer.status}${refusalCode(answer.body)}`);
            await sleep(50);
            continue;
          }
        } catch {
          err('requests_failed');
          await sleep(100);
          continue;
        }
        const retrieveRaw = buildRequest(
          'POST',
          conn.host,
          `${V1_PATH}/responses/retrieve`,
          JSON.stringify({ client_public_key: key, request_id: requestId, ack: true }),
        );
        let got: Record<string, unknown> | null = null;
        while (got === null && now() < hardEnd) {
          try {
            const answer = await conn.send(retrieveRaw, 20_000);
            if (answer.status === 200) {
              got = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
              break;
            }
            if (answer.status !== 202) {
              err(`retrieve_${answer.status}`);
              await sleep(50);
            }
          } catch {
            err('retrieve_failed');
            await sleep(100);
          }
        }
        if (got === null) {
          err('round_abandoned');
          break;
        }
        const done = now();
        if (idOf(got.ciphertext ?? got.chat_history) !== id) {
          wrongReply += 1;
          continue;
        }
        completed += 1;
        if (start >= measureFrom && done <= end) completedInWindow += 1;
        if (start >= measureFrom) {
          const picked = pickedAt.get(id);
          const sourced = sourcedAt.get(id);
          if (picked !== undefined) pickup.push(picked - start);
          if (sourced !== undefined) delivery.push(done - sourced);
          observed.push(done - start);
        }
        pickedAt.delete(id);
        sourcedAt.delete(id);
        if (job.pauseMs !== undefined && job.pauseMs > 0) await sleep(job.pauseMs);
      }
    } finally {
      conn.close();
    }
  };

  const nodes = Array.from({ length: job.nodes }, (_, n) => nodeLoop(n));
  await sleep(500); // every node registered before clients look for one
  await Promise.all(Array.from({ length: job.clients }, (_, c) => clientLoop(c)));
  nodesStop = true;
  for (const conn of nodeConns) conn.close(); // ends the polls still held
  await Promise.all(nodes);
  return {
    protocol: 'v1',
    nodes: job.nodes,
    clients: job.clients,
    windowS: job.durationMs / 1000,
    roundTrips: completedInWindow,
    roundTripsPerS: Math.round((completedInWindow / (job.durationMs / 1000)) * 10) / 10,
    completedTotal: completed,
    wrongReply,
    errors,
    pickupMs: pickup.summary(),
    deliveryMs: delivery.summary(),
    clientObservedMs: observed.summary(),
    addedMs: observed.summary(),
  };
}
