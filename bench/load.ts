// The load generator, run as its own process (pinned to its own core by bench/run.ts). It reads
// one JSON job per line on stdin and answers one JSON result per line on stdout. Every loop is
// bounded by a deadline and every request by a timeout.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildRequest, HttpConn } from './http-conn.js';
import { b64ish, cipher, CIPHERKEY, fakeKey, idOf, IV } from './payload.js';
import { Samples, type Dist } from './stats.js';
import { v1Cycle, type V1CycleJob } from './load-v1.js';
import { hold, type HoldJob } from './load-held.js';

const now = (): number => performance.now();

// ---------- jobs ----------
const pickAddress = (addresses: string[] | undefined, i: number): string | undefined =>
  addresses === undefined || addresses.length === 0 ? undefined : addresses[i % addresses.length];
interface HealthzJob {
  kind: 'healthz';
  url: string;
  connections: number;
  durationMs: number;
  warmupMs: number;
}
/**
 * `pauseMs`: a client's pause between round trips (paced honest traffic); `clientAddresses` /
 * `nodeAddresses`: source addresses, peer i binding the (i mod n)-th; `tag` keeps keys distinct.
 */
export interface CycleJob {
  kind: 'cycle';
  url: string;
  nodes: number;
  clients: number;
  durationMs: number;
  warmupMs: number;
  cadence: boolean;
  cipherChars: number;
  pauseMs?: number;
  clientAddresses?: string[];
  nodeAddresses?: string[];
  tag?: string;
}
interface FloodJob {
  kind: 'flood';
  url: string;
  nodes: number;
  requests: number;
  responses: number;
  connections: number;
  cipherChars: number;
  timeLimitMs: number;
}
interface IdleJob {
  kind: 'idle';
  url: string;
  idle: number;
  silent: number;
  probeConnections: number;
  durationMs: number;
  openLimitMs: number;
}
/** Several jobs at once: used for the light real-cadence cycles, whose load barely registers. */
interface ParallelJob {
  kind: 'parallel';
  jobs: Job[];
}
type Job = HealthzJob | CycleJob | FloodJob | IdleJob | ParallelJob | V1CycleJob | HoldJob;

async function healthz(job: HealthzJob): Promise<Record<string, unknown>> {
  const conns = Array.from({ length: job.connections }, () => HttpConn.fromUrl(job.url));
  const raw = buildRequest('GET', conns[0]!.host, '/healthz');
  const samples = new Samples();
  let errors = 0;
  let counted = 0;
  let served = 0;
  const t0 = now();
  const measureFrom = t0 + job.warmupMs;
  const end = measureFrom + job.durationMs;
  await Promise.all(
    conns.map(async (conn) => {
      while (now() < end) {
        const start = now();
        try {
          const answer = await conn.send(raw, 10_000);
          if (answer.status !== 200) errors += 1;
          served += 1;
        } catch {
          errors += 1;
          await sleep(10);
          continue;
        }
        const done = now();
        if (start >= measureFrom && done <= end) {
          samples.push(done - start);
          counted += 1;
        }
      }
    }),
  );
  for (const conn of conns) conn.close();
  return { connections: job.connections, requests: counted, served, errors, rps: Math.round(counted / (job.durationMs / 1000)), latencyMs: samples.summary() };
}

async function cycle(job: CycleJob): Promise<Record<string, unknown>> {
  const filler = b64ish(job.cipherChars, 3);
  const sentAt = new Map<number, number>();
  const pickedAt = new Map<number, number>();
  const sourcedAt = new Map<number, number>();
  const pickup = new Samples();
  const delivery = new Samples();
  const observed = new Samples();
  const added = new Samples();
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
  const hardEnd = end + 25_000; // a round already under way may finish, never beyond this

  const nodeLoop = async (n: number): Promise<void> => {
    const conn = HttpConn.fromUrl(job.url, pickAddress(job.nodeAddresses, n));
    nodeConns.push(conn);
    const key = fakeKey(`${job.tag ?? ''}node`, n);
    const sinkRaw = buildRequest('POST', conn.host, '/sink', JSON.stringify({ server_public_key: key }));
    while (!nodesStop && now() < hardEnd) {
      let data: Record<string, unknown>;
      try {
        const answer = await conn.send(sinkRaw, 10_000); // the upstream node's request timeout
        data = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
        if (answer.status !== 200) {
          err(`sink_${answer.status}`);
          await sleep(100);
          continue;
        }
      } catch {
        if (!nodesStop) {
          err('sink_failed');
          await sleep(100);
        }
        continue;
      }
      if (typeof data.client_public_key === 'string') {
        const id = idOf(data.chat_history);
        pickedAt.set(id, now());
        sourcedAt.set(id, now());
        try {
          const answer = await conn.request(
            'POST',
            '/source',
            { client_public_key: data.client_public_key, chat_history: data.chat_history, cipherkey: CIPHERKEY, iv: IV },
            10_000,
          );
          if (answer.status !== 200) err(`source_${answer.status}`);
        } catch {
          if (!nodesStop) err('source_failed');
        }
      }
      const ping = Number(data.next_ping_in_x_seconds ?? 0);
      if (job.cadence && ping > 0) await sleep(Math.min(ping, 30) * 1000);
    }
  };

  const clientLoop = async (c: number): Promise<void> => {
    const conn = HttpConn.fromUrl(job.url, pickAddress(job.clientAddresses, c));
    const key = fakeKey(`${job.tag ?? ''}client`, c);
    const retrieveRaw = buildRequest('POST', conn.host, '/retrieve', JSON.stringify({ client_public_key: key }));
    if (job.cadence) await sleep(Math.random() * 2000); // independent peers do not start in step
    try {
      while (now() < end) {
        let server: string;
        try {
          const { status, data } = await conn.json('GET', '/next_server', undefined, 10_000);
          if (typeof data.server_public_key !== 'string') {
            err(status === 200 ? 'no_server' : `next_server_${status}`);
            await sleep(job.cadence ? 2000 : 50);
            continue;
          }
          server = data.server_public_key;
        } catch {
          err('next_server_failed');
          await sleep(100);
          continue;
        }
        const id = nextId++;
        const start = now();
        sentAt.set(id, start);
        try {
          const answer = await conn.request(
            'POST',
            '/faucet',
            { server_public_key: server, client_public_key: key, chat_history: cipher(id, job.cipherChars, filler), cipherkey: CIPHERKEY, iv: IV },
            10_000,
          );
          if (answer.status !== 200) {
            err(`faucet_${answer.status}`);
            await sleep(job.cadence ? 2000 : 50);
            continue;
          }
        } catch {
          err('faucet_failed');
          await sleep(100);
          continue;
        }
        if (job.cadence) await sleep(3000); // CryptoClient's first wait
        let got: Record<string, unknown> | null = null;
        while (got === null && now() < hardEnd) {
          try {
            const answer = await conn.send(retrieveRaw, 10_000);
            const data = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
            if (answer.status === 200 && typeof data.chat_history === 'string') {
              got = data;
              break;
            }
            if (answer.status !== 200) err(`retrieve_${answer.status}`);
          } catch {
            err('retrieve_failed');
          }
          if (job.cadence) await sleep(2000); // CryptoClient polls every 2 s
        }
        if (got === null) {
          err('round_abandoned');
          break;
        }
        const done = now();
        const replyId = idOf(got.chat_history);
        if (replyId !== id) {
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
          added.push(done - start - (job.cadence ? 3000 : 0));
        }
        sentAt.delete(id);
        pickedAt.delete(id);
        sourcedAt.delete(id);
        if (job.pauseMs !== undefined && job.pauseMs > 0) await sleep(job.pauseMs);
      }
    } finally {
      conn.close();
    }
  };

  const nodes = Array.from({ length: job.nodes }, (_, n) => nodeLoop(n));
  await sleep(500); // let every node announce itself before clients look for one
  await Promise.all(Array.from({ length: job.clients }, (_, c) => clientLoop(c)));
  nodesStop = true;
  for (const conn of nodeConns) conn.close();
  await Promise.all(nodes);
  const summary = (s: Samples): Dist => s.summary();
  return {
    nodes: job.nodes,
    clients: job.clients,
    cadence: job.cadence,
    windowS: job.durationMs / 1000,
    roundTrips: completedInWindow,
    roundTripsPerS: Math.round((completedInWindow / (job.durationMs / 1000)) * 10) / 10,
    completedTotal: completed,
    wrongReply,
    errors,
    pickupMs: summary(pickup),
    deliveryMs: summary(delivery),
    clientObservedMs: summary(observed),
    addedMs: summary(added),
  };
}

async function flood(job: FloodJob): Promise<Record<string, unknown>> {
  const filler = b64ish(job.cipherChars, 5);
  const conns = Array.from({ length: job.connections }, () => HttpConn.fromUrl(job.url));
  const nodeKeys = Array.from({ length: job.nodes }, (_, n) => fakeKey('floodnode', n));
  for (const key of nodeKeys) {
    const answer = await conns[0]!.request('POST', '/sink', { server_public_key: key }, 10_000);
    if (answer.status !== 200) throw new Error(`sink answered ${answer.status}`);
  }
  const claimer = fakeKey('floodclaimer', 0);
  if ((await conns[0]!.request('POST', '/sink', { server_public_key: claimer }, 10_000)).status !== 200) throw new Error('claimer sink refused');
  const deadline = now() + job.timeLimitMs;
  const statuses: Record<string, Record<string, number>> = { faucet: {}, source: {} };
  const run = async (route: 'faucet' | 'source', total: number): Promise<number> => {
    let next = 0;
    const t = now();
    await Promise.all(
      conns.map(async (conn) => {
        while (next < total && now() < deadline) {
          const i = next++;
          let body: Record<string, unknown>;
          let status = 'failed';
          try {
            if (route === 'faucet') {
              body = {
                server_public_key: nodeKeys[i % nodeKeys.length],
                client_public_key: fakeKey('floodclient', i),
                chat_history: cipher(i, job.cipherChars, filler),
                cipherkey: CIPHERKEY,
                iv: IV,
              };
            } else {
              // The relay takes an answer only for a request a node has claimed: the claimer node
              // is sent a request for the reader's key, claims one, and answers it.
              const sent = await conn.request(
                'POST',
                '/faucet',
                { server_public_key: claimer, client_public_key: fakeKey('floodreader', i), chat_history: cipher(i, 16, filler), cipherkey: CIPHERKEY, iv: IV },
                10_000,
              );
              if (sent.status !== 200) throw new Error(`claim faucet ${sent.status}`);
              const claimed = JSON.parse((await conn.request('POST', '/sink', { server_public_key: claimer }, 10_000)).body.toString('utf8')) as Record<
                string,
                unknown
              >;
              body = { client_public_key: claimed.client_public_key, chat_history: cipher(i, job.cipherChars, filler), cipherkey: CIPHERKEY, iv: IV };
            }
            status = String((await conn.request('POST', `/${route}`, body, 10_000)).status);
          } catch {
            /* counted as failed */
          }
          statuses[route]![status] = (statuses[route]![status] ?? 0) + 1;
        }
      }),
    );
    return (now() - t) / 1000;
  };
  const faucetS = await run('faucet', job.requests);
  const sourceS = await run('source', job.responses);
  for (const conn of conns) conn.close();
  return {
    requestsAccepted: statuses.faucet!['200'] ?? 0,
    responsesAccepted: statuses.source!['200'] ?? 0,
    statuses,
    faucetPerS: Math.round(job.requests / faucetS),
    sourcePerS: Math.round(job.responses / sourceS),
    seconds: Math.round((faucetS + sourceS) * 10) / 10,
  };
}

async function idle(job: IdleJob): Promise<Record<string, unknown>> {
  const u = new URL(job.url);
  const port = Number(u.port);
  const openDeadline = now() + job.openLimitMs;
  const idleConns: HttpConn[] = [];
  const silent: Socket[] = [];
  let idleFailed = 0;
  let silentFailed = 0;
  let silentClosedByServer = 0;
  const openStart = now();
  const batch = 250;
  for (let i = 0; i < job.idle && now() < openDeadline; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, job.idle - i) }, async () => {
        const conn = new HttpConn(u.hostname, port);
        try {
          await conn.request('GET', '/healthz', undefined, 10_000);
          idleConns.push(conn);
        } catch {
          idleFailed += 1;
          conn.close();
        }
      }),
    );
  }
  for (let i = 0; i < job.silent && now() < openDeadline; i += batch) {
    await Promise.all(
      Array.from(
        { length: Math.min(batch, job.silent - i) },
        (_, j) =>
          new Promise<void>((resolve) => {
            const socket = connect({ host: u.hostname, port });
            socket.once('error', () => {
              silentFailed += 1;
              resolve();
            });
            socket.once('connect', () => {
              socket.on('error', () => {});
              socket.once('close', () => {
                silentClosedByServer += 1;
              });
              if ((i + j) % 2 === 1) socket.write('GET /heal'); // a partial request line, never finished
              silent.push(socket);
              resolve();
            });
          }),
      ),
    );
  }
  const openSeconds = (now() - openStart) / 1000;
  const probe = await healthz({ kind: 'healthz', url: job.url, connections: job.probeConnections, durationMs: job.durationMs, warmupMs: 300 });
  const idleStillOpen = idleConns.length; // an idle conn closed by the server would reconnect on use; count before closing
  const silentStillOpen = silent.length - silentClosedByServer;
  for (const conn of idleConns) conn.close();
  for (const socket of silent) {
    socket.removeAllListeners('close');
    socket.resetAndDestroy();
  }
  return {
    requestedIdle: job.idle,
    requestedSilent: job.silent,
    idleOpened: idleStillOpen,
    idleFailed,
    silentOpened: silent.length,
    silentFailed,
    silentClosedByServerDuringProbe: silentClosedByServer,
    silentStillOpen,
    openSeconds: Math.round(openSeconds * 10) / 10,
    probe,
  };
}

async function runJob(job: Job): Promise<Record<string, unknown>> {
  switch (job.kind) {
    case 'healthz':
      return healthz(job);
    case 'cycle':
      return cycle(job);
    case 'flood':
      return flood(job);
    case 'idle':
      return idle(job);
    case 'parallel':
      return { results: await Promise.all(job.jobs.map(runJob)) };
    case 'cycleV1':
      return v1Cycle(job);
    case 'hold':
      return hold(job);
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === '') continue;
  try {
    const result = await runJob(JSON.parse(line) as Job);
    process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: (e as Error).stack ?? String(e) })}\n`);
  }
}
