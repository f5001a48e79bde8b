// Simulated legacy peers spread round-robin over relay replicas: node n polls replica n, answers
// through replica n+2; its clients submit and retrieve through replica n+1, so every hand-over
// crosses replicas. An actor moves to the next replica when its connection breaks. Every request is unique, so the counts show loss and double delivery exactly.
import { call } from './cluster.js';

export interface TrafficOptions {
  urls: string[];
  nodes: number;
  roundTrips: number;
  concurrency: number;
  /** Called after each accepted request (e.g. to kill a replica mid-traffic). */
  onAccepted?: (accepted: number) => void;
  /** A client gives up waiting for its answer after this long. */
  retrieveGiveUpMs?: number;
}

export interface TrafficResult {
  accepted: Set<number>;
  delivered: Map<number, number>;
  /** How many times a node was handed each request. */
  received: Map<number, number>;
  sourced: Set<number>;
  wrongAnswers: number;
  /** Actors whose poll on a replica broke (no HTTP answer). */
  nodesWithBrokenSink: Set<number>;
  clientsWithBrokenFaucet: Set<number>;
  clientsWithBrokenRetrieve: Set<number>;
  /** Clear JSON errors seen (status -> count). */
  errorStatuses: Map<string, number>;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runTraffic(options: TrafficOptions): Promise<TrafficResult> {
  const { urls } = options;
  const result: TrafficResult = {
    accepted: new Set(),
    delivered: new Map(),
    received: new Map(),
    sourced: new Set(),
    wrongAnswers: 0,
    nodesWithBrokenSink: new Set(),
    clientsWithBrokenFaucet: new Set(),
    clientsWithBrokenRetrieve: new Set(),
    errorStatuses: new Map(),
    seconds: 0,
  };
  const noteError = (status: number, code: unknown) => {
    const k = `${status} ${String(code)}`;
    result.errorStatuses.set(k, (result.errorStatuses.get(k) ?? 0) + 1);
  };
  let stop = false;
  // Ends the nodes' held polls at once when the clients are done.
  const halt = new AbortController();

  const node = async (i: number): Promise<void> => {
    const key = `node-${i}`;
    let r = i % urls.length;
    while (!stop) {
      const answer = await call(`${urls[r]}/sink`, { server_public_key: key, max_batch_size: 4 }, 15_000, halt.signal);
      if (stop) return;
      if (!answer.ok) {
        result.nodesWithBrokenSink.add(i);
        r = (r + 1) % urls.length;
        continue;
      }
      if (answer.status !== 200) {
        noteError(answer.status, answer.body.code);
        await sleep(100);
        continue;
      }
      const items = (answer.body.batch as Record<string, string>[] | undefined) ?? [];
      for (const item of items) {
        const id = Number(String(item.chat_history).slice(2));
        result.received.set(id, (result.received.get(id) ?? 0) + 1);
        let s = (r + 2) % urls.length;
        for (let attempt = 0; attempt < 20; attempt += 1) {
          const sent = await call(`${urls[s]}/source`, {
            client_public_key: item.client_public_key,
            chat_history: `a:${item.chat_history}`,
            cipherkey: item.cipherkey,
            iv: item.iv,
          });
          if (sent.ok && sent.status === 200) {
            result.sourced.add(id);
            break;
          }
          if (sent.ok) noteError(sent.status, sent.body.code);
          s = (s + 1) % urls.length;
          await sleep(50);
        }
      }
    }
  };

  let next = 0;
  const client = async (): Promise<void> => {
    for (;;) {
      const j = next;
      next += 1;
      if (j >= options.roundTrips) return;
      const body = { server_public_key: `node-${j % options.nodes}`, client_public_key: `client-${j}`, chat_history: `m:${j}`, cipherkey: 'k', iv: 'i' };
      // Submit and retrieve through the replica after the node's: every hop crosses replicas.
      let r = ((j % options.nodes) + 1) % urls.length;
      for (;;) {
        const answer = await call(`${urls[r]}/faucet`, body);
        if (answer.ok && answer.status === 200) break;
        if (answer.ok) {
          noteError(answer.status, answer.body.code);
          await sleep(100);
        } else {
          result.clientsWithBrokenFaucet.add(j);
        }
        r = (r + 1) % urls.length;
      }
      result.accepted.add(j);
      options.onAccepted?.(result.accepted.size);
      let g = ((j % options.nodes) + 1) % urls.length;
      const giveUp = Date.now() + (options.retrieveGiveUpMs ?? 20_000);
      while (Date.now() < giveUp) {
        const answer = await call(`${urls[g]}/retrieve`, { client_public_key: `client-${j}` });
        if (!answer.ok) {
          result.clientsWithBrokenRetrieve.add(j);
          g = (g + 1) % urls.length;
          continue;
        }
        if (answer.status !== 200) {
          noteError(answer.status, answer.body.code);
          await sleep(100);
          continue;
        }
        if (typeof answer.body.chat_history === 'string') {
          if (answer.body.chat_history !== `a:m:${j}`) result.wrongAnswers += 1;
          result.delivered.set(j, (result.delivered.get(j) ?? 0) + 1);
          break;
        }
      }
    }
  };

  const nodes = Array.from({ length: options.nodes }, (_, i) => node(i));
  // Clients start once every node is registered (a request for an unknown node is a 404).
  for (let waited = 0; waited < 100; waited += 1) {
    const health = await call(`${urls[0]}/healthz`);
    if (health.ok && health.body.knownServers === options.nodes) break;
    await sleep(50);
  }
  const started = Date.now();
  await Promise.all(Array.from({ length: options.concurrency }, () => client()));
  result.seconds = (Date.now() - started) / 1000;
  stop = true;
  halt.abort();
  await Promise.all(nodes);
  return result;
}
