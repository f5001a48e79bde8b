// Shared backend for several replicas: state in one Redis/Valkey, every transition one Lua script
// (src/protocols/legacy/redis-scripts.ts), wake-ups over one pub/sub channel fanned out to local waiters.
// Failures to reach Redis surface as StoreUnavailableError (HTTP 503 store_unavailable).
import { randomBytes, randomInt } from 'node:crypto';
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../../core/errors.js';
import { requestBytes, responseBytes } from './memory.js';
import { classify, connect, quit, reasonOf, type RedisConnectionOptions } from '../../store/redis/connection.js';
import { SWEEP_MAX_STEPS, WAKE_CHANNEL } from './redis-keys.js';
import { SCRIPT_NAMES, buildScripts, type ScriptName } from './redis-scripts.js';
import { V1_SCRIPT_NAMES, buildV1Scripts, type V1ScriptName } from '../v1/redis-scripts.js';
import { RedisV1 } from '../v1/redis.js';
import { parseShareStats, shareLimits, shareStatsLua } from '../../store/redis/share-stats.js';
import { WakeFanout } from '../../store/redis/wake-fanout.js';
import type {
  NodeListing,
  NodeView,
} from '../v1/types.js';
import type {
  ChunkOutcome,
  ClaimedRequest,
  CompleteOutcome,
  EncryptedResponse,
  EnqueueOutcome,
  ExpiryCounts,
  QueuedRequest,
  RegisterOutcome,
  RelayStore,
  StoreHealth,
  StoreLimits,
  StoreStats,
  StreamBatch,
  StoredResponse,
  WakeChannel,
  Waiter,
  V1Transitions,
} from '../../store/types.js';
import { LOCAL_SOURCE } from '../../store/types.js';

export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Namespace for every key and the wake-up channel. */
  prefix: string;
}

type ScriptCaller = (...args: (string | number)[]) => Promise<unknown>;

export class RedisStore implements RelayStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;
  readonly #fanout: WakeFanout;
  readonly #scripts: Record<ScriptName | V1ScriptName, ScriptCaller>;
  /** Read-only share usage for metrics (src/store/redis/share-stats.ts). */
  readonly #shareStats: ScriptCaller;
  readonly #shareLimits: ReturnType<typeof shareLimits>;
  /** API v1 transitions (src/protocols/v1/redis.ts), on the same connection and channel. */
  readonly #v1: RedisV1;
  /** The API v1 transitions (contracts in types.ts). */
  readonly v1: V1Transitions;
  readonly #prefix: string;
  /** Key prefixes lent out with the command connection: not relay state, so snapshot() skips them. */
  readonly #lent: string[] = [];
  #lastError = 'connecting';
  #closed = false;

  constructor(readonly limits: StoreLimits, options: RedisStoreOptions) {
    this.#prefix = options.prefix;
    this.#redis = connect(options, 'commands');
    // An 'error' listener is required (ioredis prints unhandled ones); the reason feeds health().
    this.#redis.on('error', (err: Error) => {
      this.#lastError = reasonOf(err);
    });
    this.#redis.on('ready', () => {
      this.#lastError = '';
    });
    this.#fanout = new WakeFanout(connect(options, 'subscriber'), options.prefix + WAKE_CHANNEL);
    const sources = { ...buildScripts(options.prefix, limits), ...buildV1Scripts(options.prefix, limits) };
    const scripts = {} as Record<ScriptName | V1ScriptName, ScriptCaller>;
    for (const name of [...SCRIPT_NAMES, ...V1_SCRIPT_NAMES]) {
      const command = `tp_${name}`;
      // defineCommand: EVALSHA with a transparent EVAL fallback after a Redis restart (NOSCRIPT).
      this.#redis.defineCommand(command, { numberOfKeys: 0, lua: sources[name] });
      const fn = (this.#redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[command]!.bind(this.#redis);
      scripts[name] = fn;
    }
    this.#scripts = scripts;
    this.#redis.defineCommand('tp_shareStats', { numberOfKeys: 0, lua: shareStatsLua(options.prefix) });
    this.#shareStats = (this.#redis as unknown as Record<string, ScriptCaller>)['tp_shareStats']!.bind(this.#redis);
    this.#shareLimits = shareLimits(limits);
    this.v1 = this.#v1 = new RedisV1(limits, (name, ...args) => this.#run(name, ...args));
  }

  /**
   * The command connection, for another user of this Redis in the same process (the rate counter),
   * so that a process keeps its two connections (src/store/redis/connection.ts). The borrower keeps
   * its keys under the returned prefix, `<prefix><namespace>`; `namespace` must not start like any
   * store key family (src/protocols/legacy/redis-keys.ts). The store still owns the connection and closes it.
   */
  lendCommands(namespace: string): { redis: Redis; prefix: string } {
    const prefix = this.#prefix + namespace;
    this.#lent.push(prefix);
    return { redis: this.#redis, prefix };
  }

  /** Resolves once both connections are up (or rejects after `timeoutMs`); for start-up and tests. */
  async ready(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#redis.status !== 'ready' || !this.#fanout.ready) {
      if (Date.now() > deadline) throw new StoreUnavailableError(this.#lastError || 'connecting');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async #run(name: ScriptName | V1ScriptName, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await this.#scripts[name](...args);
    } catch (err) {
      throw classify(err);
    }
  }

  async register(nodeKey: string, now: number, source: string = LOCAL_SOURCE): Promise<RegisterOutcome> {
    const [ok, value] = (await this.#run('register', nodeKey, now, source)) as [number, number | string];
    if (ok === 1) return { ok: true, created: value === 1 };
    return { ok: false, reason: value as 'relay_node_limit' | 'source_node_share_exceeded' | 'source_bytes_share_exceeded' };
  }

  async pickNode(now: number): Promise<string | null> {
    // The script picks a source, then one of its nodes; the randomness comes from here, not from the server.
    const r = () => randomInt(0, 2 ** 47) / 2 ** 47;
    return ((await this.#run('pickNode', now, r(), r())) as string | null) ?? null;
  }

  async enqueue(nodeKey: string, request: QueuedRequest, now: number, source: string = LOCAL_SOURCE): Promise<EnqueueOutcome> {
    const payload = JSON.stringify([request.chatHistory, request.cipherkey, request.iv]);
    const [ok, value] = (await this.#run('enqueue', nodeKey, request.clientKey, payload, requestBytes(request), request.stream ? '1' : '0', now, source)) as [number, number | string];
    if (ok === 1) return { ok: true, queueDepth: Number(value) };
    return { ok: false, reason: value as Extract<EnqueueOutcome, { ok: false }>['reason'] };
  }

  async claim(nodeKey: string, max: number, now: number): Promise<ClaimedRequest[]> {
    if (max <= 0) return [];
    const rows = (await this.#run('claim', nodeKey, max, now, randomBytes(16).toString('hex'))) as [string, string, string, string, string][];
    return rows.map(([clientKey, enqueuedAt, stream, sessionId, payload]) => {
      const [chatHistory, cipherkey, iv] = JSON.parse(payload) as [string, string, string];
      const item: ClaimedRequest = { clientKey, chatHistory, cipherkey, iv, stream: stream === '1', enqueuedAt: Number(enqueuedAt) };
      if (sessionId !== '') item.streamSessionId = sessionId;
      return item;
    });
  }

  async complete(clientKey: string, response: EncryptedResponse, now: number, source: string = LOCAL_SOURCE): Promise<CompleteOutcome> {
    const payload = JSON.stringify([response.chatHistory, response.cipherkey, response.iv]);
    const [ok, replaced, enqueued] = (await this.#run('complete', clientKey, payload, responseBytes(clientKey, response), now, source)) as [number, (number | string)?, number?];
    if (ok !== 1) return { ok: false, reason: replaced as Extract<CompleteOutcome, { ok: false }>['reason'] };
    return { ok: true, replaced: replaced === 1, requestEnqueuedAt: enqueued === undefined || enqueued < 0 ? null : enqueued };
  }

  async retrieve(clientKey: string, now: number): Promise<StoredResponse | null> {
    const row = (await this.#run('retrieve', clientKey, now)) as [string, string, string] | null;
    if (row === null) return null;
    const [storedAt, enqueued, payload] = row;
    const [chatHistory, cipherkey, iv] = JSON.parse(payload) as [string, string, string];
    const requestEnqueuedAt = Number(enqueued);
    return { chatHistory, cipherkey, iv, storedAt: Number(storedAt), requestEnqueuedAt: requestEnqueuedAt < 0 ? null : requestEnqueuedAt };
  }

  async appendChunk(sessionId: string, chunk: string, final: boolean, now: number, source: string = LOCAL_SOURCE): Promise<ChunkOutcome> {
    const outcome = (await this.#run('appendChunk', sessionId, chunk, final ? '1' : '0', now, source)) as string;
    if (outcome === 'ok') return { ok: true };
    return { ok: false, reason: outcome as Extract<ChunkOutcome, { ok: false }>['reason'] };
  }

  async drainStream(clientKey: string, now: number): Promise<StreamBatch | null> {
    const row = (await this.#run('drainStream', clientKey, now)) as [string, string, string[]] | null;
    if (row === null) return null;
    const [sessionId, final, chunks] = row;
    return { sessionId, chunks, final: final === '1' };
  }

  async expire(now: number): Promise<ExpiryCounts> {
    const counts: ExpiryCounts = { nodes: 0, requests: 0, responses: 0, streams: 0 };
    // Each step is one bounded script run (other commands interleave between steps).
    for (let step = 0; step < SWEEP_MAX_STEPS; step += 1) {
      const [nodes, requests, responses, streams, more] = (await this.#run('expire', now)) as number[];
      counts.nodes += nodes ?? 0;
      counts.requests += requests ?? 0;
      counts.responses += responses ?? 0;
      counts.streams += streams ?? 0;
      if (more !== 1) break;
    }
    return counts;
  }

  async stats(now: number): Promise<StoreStats> {
    const [legacy, v1, shares] = await Promise.all([this.#run('stats', now), this.#v1.stats(now), this.#runShareStats()]);
    const [nodes, queued, oldest, inflight, responses, streams, bytes] = legacy as [number, number, string, number, number, number, number];
    const oldestAt = Number(oldest);
    return {
      nodes: nodes + v1.stats.v1HealthyNodes,
      queuedRequests: queued,
      oldestQueuedAgeMs: oldestAt < 0 ? 0 : Math.max(0, now - oldestAt),
      inflightRequests: inflight,
      responses,
      streamSessions: streams,
      // One counter holds both protocols' bytes: the cap is shared.
      storedBytes: bytes,
      ...v1.stats,
      shares: parseShareStats(shares, this.#shareLimits),
    };
  }

  async #runShareStats(): Promise<unknown> {
    try {
      return await this.#shareStats();
    } catch (err) {
      throw classify(err);
    }
  }

  async listNodes(now: number, limit: number): Promise<NodeListing> {
    const [legacy, v1] = await Promise.all([this.#run('listNodes', now, Math.max(0, Math.floor(limit))), this.#v1.listNodes(now, limit)]);
    const [legacyTotal, rows] = legacy as [number, [string, string, number, number][]];
    const views = rows.map(([key, seen, queueDepth, inflight]): NodeView => ({ protocol: 'legacy', key, ageMs: Math.max(0, now - Number(seen)), queueDepth, inflight }));
    return { legacy: views, v1: v1.views, legacyTotal, v1Total: v1.total };
  }

  watch(channel: WakeChannel, key: string): Waiter {
    return this.#fanout.watch(channel, key);
  }

  /** Every key under the prefix, sorted, without TTLs. Test-only: it scans the namespace. */
  async snapshot(): Promise<unknown> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#redis.scan(cursor, 'MATCH', `${globEscape(this.#prefix)}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    keys.sort();
    const out: [string, unknown][] = [];
    for (const key of keys) {
      if (this.#lent.some((prefix) => key.startsWith(prefix))) continue;
      const type = await this.#redis.type(key);
      const name = key.slice(this.#prefix.length);
      if (type === 'string') out.push([name, await this.#redis.get(key)]);
      else if (type === 'list') out.push([name, await this.#redis.lrange(key, 0, -1)]);
      else if (type === 'hash') out.push([name, Object.entries(await this.#redis.hgetall(key)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
      else if (type === 'zset') out.push([name, await this.#redis.zrange(key, 0, -1, 'WITHSCORES')]);
    }
    return out;
  }

  async health(): Promise<StoreHealth> {
    if (this.#closed) return { ok: false, reason: 'redis store closed' };
    if (this.#redis.status !== 'ready') return { ok: false, reason: `redis unreachable (${this.#lastError || this.#redis.status})` };
    try {
      await this.#redis.ping();
    } catch (err) {
      return { ok: false, reason: `redis unreachable (${reasonOf(err)})` };
    }
    if (!this.#fanout.ready) return { ok: false, reason: 'redis subscriber reconnecting' };
    return { ok: true };
  }

  /** Local waiters currently registered (for leak tests). */
  get waiters(): number {
    return this.#fanout.size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fanout.close();
    await quit(this.#redis);
  }
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
