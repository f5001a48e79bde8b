// Held long-polls at scale, for the load generator: `total` pollers, a quarter of each kind:
//   legacy node   POST /sink, held until work or the sink hold; work is answered with /source;
//   v1 node       registers, then POST servers/poll, held up to poll_wait_seconds; work answered;
//   legacy client POST /retrieve for a key nothing is queued for, held up to the retrieve hold;
//   v1 client     submits one request to a parked node (one that never polls), then POST
//                 responses/retrieve for it, held up to the retrieve hold, again and again.
// Pollers are spread over loopback sources, `perSource` to an address, so each source stays
// inside the relay's per-source shares of sockets and held polls. Every poller re-polls at once
// when its poll returns, as a real peer does while the relay holds.
// The job runs until `stopFile` exists (or `maxMs`): then the parked nodes claim `sample`
// requests and answer them, and the time from each answer sent to its held client holding it is
// the wake-up latency. Any other status than the expected one, and any reset or timeout before
// the stop, is an error.
import { existsSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildRequest, HttpConn } from './http-conn.js';
import { V1_PATH, V1_PROTOCOL, v1Register, v1ResponseBody } from './load-v1.js';
import { b64ish, cipher, CIPHERKEY, fakeKey, IV, loopbackAddress } from './payload.js';
import { Samples } from './stats.js';

const now = (): number => performance.now();

export interface HoldJob {
  kind: 'hold';
  url: string;
  total: number;
  perSource: number;
  /** Second octet of the pollers' addresses; parked nodes use the next one. */
  addressBlock: number;
  model: string;
  parkedModel: string;
  cipherChars: number;
  stopFile: string;
  readyFile: string;
  maxMs: number;
  rampLimitMs: number;
  sample: number;
  /** Only these kinds of poller (default: all four, in turn). */
  kinds?: readonly Kind[];
}

const KINDS = ['legacyNode', 'v1Node', 'legacyClient', 'v1Client'] as const;
type Kind = (typeof KINDS)[number];
/** Requests parked per node: below the relay's default queue cap per node (1024). */
const PARKED_PER_NODE = 900;
/** New held-poll connections a second during the ramp (20,000 in 20 s). */
const RAMP_PER_S = 1000;

export async function hold(job: HoldJob): Promise<Record<string, unknown>> {
  const started = now();
  const filler = b64ish(job.cipherChars, 13);
  const statuses: Record<Kind, Record<string, number>> = { legacyNode: {}, v1Node: {}, legacyClient: {}, v1Client: {} };
  const errors: Record<string, number> = {};
  const count = (kind: Kind, what: string): void => {
    statuses[kind][what] = (statuses[kind][what] ?? 0) + 1;
  };
  let stopping = false;
  let sampleOver = false;
  const err = (kind: Kind, what: string): void => {
    if (stopping) return;
    errors[`${kind} ${what}`] = (errors[`${kind} ${what}`] ?? 0) + 1;
  };
  const conns: HttpConn[] = [];
  let workAnswered = 0;
  let unexpectedDelivery = 0;

  // Parked v1 nodes: they hold the v1 clients' requests and poll only for the wake-up sample.
  const v1Clients = Math.floor((job.total * (job.kinds ?? KINDS).filter((k) => k === 'v1Client').length) / (job.kinds ?? KINDS).length);
  const parked = Array.from({ length: Math.max(1, Math.ceil(v1Clients / PARKED_PER_NODE)) }, (_, p) => ({
    key: fakeKey('parked', p),
    conn: new HttpConn(new URL(job.url).hostname, Number(new URL(job.url).port), loopbackAddress(job.addressBlock + 1, p)),
    credential: null as string | null,
  }));
  for (const node of parked) {
    const reg = await v1Register(node.conn, node.key, job.parkedModel);
    if (reg.status !== 200) throw new Error(`parked node register answered ${reg.status}`);
    node.credential = reg.credential;
  }
  const keepParked = (async () => {
    // The lease (30 s by default) is renewed by registering again: a parked node never polls.
    while (!stopping) {
      for (let i = 0; i < 100 && !stopping; i += 1) await sleep(100);
      for (const node of parked) if (!stopping) await v1Register(node.conn, node.key, job.parkedModel, node.credential).catch(() => undefined);
    }
  })();

  const respondedAt = new Map<string, number>();
  const wake = new Samples();
  const sampleIds = new Set<string>();

  const poller = async (i: number, conn: HttpConn, first: () => void): Promise<void> => {
    const kinds = job.kinds ?? KINDS;
    const kind = kinds[i % kinds.length]!;
    const key = fakeKey(`held${kind}`, i);
    const host = conn.host;
    try {
      if (kind === 'legacyNode') {
        const raw = buildRequest('POST', host, '/sink', JSON.stringify({ server_public_key: key }));
        first();
        while (!stopping) {
          const answer = await conn.send(raw, 20_000);
          count(kind, String(answer.status));
          if (answer.status !== 200) {
            err(kind, String(answer.status));
            await sleep(1000);
            continue;
          }
          const data = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
          if (typeof data.client_public_key === 'string') {
            const sent = await conn.request(
              'POST',
              '/source',
              { client_public_key: data.client_public_key, chat_history: data.chat_history, cipherkey: data.cipherkey, iv: data.iv },
              10_000,
            );
            if (sent.status !== 200) err(kind, `source_${sent.status}`);
            else workAnswered += 1;
          }
        }
      } else if (kind === 'v1Node') {
        let credential: string | null = null;
        const reg = await v1Register(conn, key, job.model);
        first();
        if (reg.status !== 200) {
          err(kind, `register_${reg.status}`);
          return;
        }
        credential = reg.credential;
        const raw = buildRequest(
          'POST',
          host,
          `${V1_PATH}/servers/poll`,
          JSON.stringify({ server_public_key: key, ...(credential === null ? {} : { control_credential: credential }) }),
        );
        while (!stopping) {
          const answer = await conn.send(raw, 75_000);
          count(kind, String(answer.status));
          if (answer.status !== 200) {
            err(kind, String(answer.status));
            await sleep(1000);
            continue;
          }
          const data = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
          if (typeof data.request_id === 'string') {
            const sent = await conn.request('POST', `${V1_PATH}/responses`, v1ResponseBody(key, credential, data), 10_000);
            if (sent.status !== 200) err(kind, `responses_${sent.status}`);
            else workAnswered += 1;
          }
        }
      } else if (kind === 'legacyClient') {
        const raw = buildRequest('POST', host, '/retrieve', JSON.stringify({ client_public_key: key }));
        first();
        while (!stopping) {
          const answer = await conn.send(raw, 20_000);
          count(kind, String(answer.status));
          if (answer.status !== 200) {
            err(kind, String(answer.status));
            await sleep(1000);
            continue;
          }
          if (answer.body.includes('chat_history')) unexpectedDelivery += 1;
        }
      } else {
        const node = parked[Math.floor(i / 4) % parked.length]!;
        const requestId = `held-${i}`;
        const admitted = await conn.request(
          'POST',
          `${V1_PATH}/requests`,
          {
            ...V1_PROTOCOL,
            server_public_key: node.key,
            client_public_key: key,
            request_id: requestId,
            ciphertext: cipher(i, job.cipherChars, filler),
            cipherkey: CIPHERKEY,
            iv: IV,
          },
          10_000,
        );
        first();
        count(kind, `requests_${admitted.status}`);
        if (admitted.status !== 200) {
          err(kind, `requests_${admitted.status}`);
          return;
        }
        const raw = buildRequest('POST', host, `${V1_PATH}/responses/retrieve`, JSON.stringify({ client_public_key: key, request_id: requestId, ack: true }));
        for (;;) {
          const answer = await conn.send(raw, 20_000);
          count(kind, String(answer.status));
          if (answer.status === 202) {
            // A client leaves once the sample phase is over and its request was not sampled; until
            // then it keeps holding, or a request sampled late would find nobody waiting.
            if (sampleOver && !sampleIds.has(requestId)) return;
            continue;
          }
          if (answer.status === 200) {
            const sent = respondedAt.get(requestId);
            if (sent === undefined) unexpectedDelivery += 1;
            else wake.push(now() - sent);
            return;
          }
          // Anything else (410: the request is gone) ends this client: retrying it is a loop.
          err(kind, String(answer.status));
          return;
        }
      }
    } catch (e) {
      const error = e as NodeJS.ErrnoException;
      err(kind, /timeout/.test(error.message) ? 'timeout' : (error.code ?? (/closed/.test(error.message) ? 'closed' : 'reset')));
    }
  };

  // Ramp: open connections in batches, each poller sending its first request before the next
  // batch, so the relay's accept queue never overflows.
  const u = new URL(job.url);
  const loops: Promise<void>[] = [];
  const rampDeadline = started + job.rampLimitMs;
  let opened = 0;
  let openFailed = 0;
  const openErrors: Record<string, number> = {};
  // Paced at RAMP_PER_S new connections a second: tens of thousands of peers do not all connect
  // in the same second, and a burst overflows the relay's accept queue (the kernel then drops
  // SYNs, and the connects that follow take seconds: the ramp measures the backlog, not the relay).
  const batch = 100;
  for (let i = 0; i < job.total && now() < rampDeadline; i += batch) {
    const batchStarted = now();
    await Promise.all(
      Array.from({ length: Math.min(batch, job.total - i) }, async (_, j) => {
        const index = i + j;
        const conn = new HttpConn(u.hostname, Number(u.port), loopbackAddress(job.addressBlock, Math.floor(index / job.perSource)));
        try {
          await conn.connect();
        } catch (e) {
          openFailed += 1;
          const code = (e as NodeJS.ErrnoException).code ?? 'error';
          openErrors[code] = (openErrors[code] ?? 0) + 1;
          return;
        }
        conns.push(conn);
        opened += 1;
        await new Promise<void>((resolve) => {
          loops.push(poller(index, conn, resolve).finally(resolve));
        });
      }),
    );
    const spare = (batch * 1000) / RAMP_PER_S - (now() - batchStarted);
    if (spare > 0) await sleep(spare);
  }
  const rampSeconds = (now() - started) / 1000;
  writeFileSync(job.readyFile, JSON.stringify({ opened, openFailed, rampSeconds }));

  const deadline = started + job.maxMs;
  while (!existsSync(job.stopFile) && now() < deadline) await sleep(200);

  // Wake-up sample: parked nodes claim and answer `sample` requests while their clients hold.
  let sampled = 0;
  const sampleStart = now();
  stopping = true; // no new errors are counted from here: sockets are about to be closed
  await Promise.all(
    parked.map(async (node, p) => {
      const share = Math.ceil(job.sample / parked.length);
      for (let k = 0; k < share && sampled < job.sample && now() - sampleStart < 15_000; k += 1) {
        try {
          const polled = await node.conn.json(
            'POST',
            `${V1_PATH}/servers/poll`,
            { server_public_key: node.key, ...(node.credential === null ? {} : { control_credential: node.credential }) },
            20_000,
          );
          if (polled.status !== 200 || typeof polled.data.request_id !== 'string') break;
          const requestId = polled.data.request_id;
          sampleIds.add(requestId);
          respondedAt.set(requestId, now());
          sampled += 1;
          const sent = await node.conn.request('POST', `${V1_PATH}/responses`, v1ResponseBody(node.key, node.credential, polled.data), 10_000);
          if (sent.status !== 200) errors[`parked${p} responses_${sent.status}`] = (errors[`parked${p} responses_${sent.status}`] ?? 0) + 1;
        } catch {
          break;
        }
      }
    }),
  );
  // The sampled clients are given the rest of one hold to see their answers.
  const waitUntil = now() + 10_000;
  while (wake.length < sampled && now() < waitUntil) await sleep(50);
  sampleOver = true;
  const woken = wake.length;
  for (const conn of conns) conn.close();
  for (const node of parked) node.conn.close();
  await Promise.race([Promise.all(loops), sleep(5000)]);
  await Promise.race([keepParked, sleep(5000)]);
  return {
    total: job.total,
    perSource: job.perSource,
    sources: Math.ceil(job.total / job.perSource),
    parkedNodes: parked.length,
    opened,
    openFailed,
    openErrors,
    rampSeconds: Math.round(rampSeconds * 10) / 10,
    heldSeconds: Math.round((sampleStart - started) / 100) / 10 - Math.round(rampSeconds * 10) / 10,
    statuses,
    errors,
    errorCount: Object.values(errors).reduce((a, b) => a + b, 0),
    honestWorkAnsweredByHeldNodes: workAnswered,
    unexpectedDelivery,
    wakeSampled: sampled,
    wakeDelivered: woken,
    wakeMs: wake.summary(),
  };
}
