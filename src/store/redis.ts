// The shared backend for several replicas: state in one Redis/Valkey, every transition one Lua
// script, wake-ups over one pub/sub channel fanned out to local waiters. This file owns the
// connection, the scripts' registration and what spans the protocols; each protocol's half
// (src/protocols/legacy/redis.ts, src/protocols/v1/redis.ts) encodes its transitions.
// Failures to reach Redis surface as StoreUnavailableError (HTTP 503 store_unavailable).
//
// Every script is called the same way (src/store/redis/lua/common.lua): KEYS[1] = <prefix>counts,
// ARGV[1] = this store's settings (MessagePack), then the script's own arguments. The scripts are the
// same text on every replica; the caps travel with each call.
import { StoreUnavailableError } from '../core/errors.js';
import { RedisLegacy } from '../protocols/legacy/redis.js';
import { WAKE_CHANNEL } from '../protocols/legacy/redis-keys.js';
import { SCRIPT_NAMES, legacyScripts, type ScriptName } from '../protocols/legacy/redis-scripts.js';
import { RedisV1 } from '../protocols/v1/redis.js';
import { V1_SCRIPT_NAMES, v1Scripts, type V1ScriptName } from '../protocols/v1/redis-scripts.js';
import { classify, connect, modeOf, quit, reasonOf, scanAll, type RedisClient, type RedisConnectionOptions, type RedisMode } from './redis/connection.js';
import { LuaScript } from './redis/lua-script.js';
import { storePrefix } from './redis/prefix.js';
import { scriptSettings } from './redis/settings.js';
import { parseShareStats, shareKeys, shareLimits, shareStatsLua } from './redis/share-stats.js';
import { WakeFanout } from './redis/wake-fanout.js';
import type { NodeListing, RelayStore, StoreHealth, StoreLimits, StoreStats, WakeChannel, Waiter } from './types.js';

export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Namespace for every key and the wake-up channel (braced on Cluster: redis/prefix.ts). */
  prefix: string;
  /**
   * After a v1 admission or answer, WAIT for this many replicas (0 = off) for at most
   * waitTimeoutMs; fewer acknowledgements make the call fail as store_unavailable (the client's
   * retry is idempotent). Not on Cluster (config refuses it).
   */
  waitReplicas?: number;
  waitTimeoutMs?: number;
}

/** The v1 transitions that must not be lost at a failover when WAIT is on. */
const DURABLE: ReadonlySet<string> = new Set<V1ScriptName>(['v1Admit', 'v1Accept']);

export class RedisStore implements RelayStore {
  readonly kind = 'redis' as const;
  readonly #redis: RedisClient;
  readonly mode: RedisMode;
  readonly #fanout: WakeFanout;
  readonly #scripts: Record<ScriptName | V1ScriptName, LuaScript>;
  /** Read-only share usage for metrics (src/store/redis/share-stats.ts). */
  readonly #shareStats: LuaScript;
  readonly #shareLimits: ReturnType<typeof shareLimits>;
  /** The state lives in Redis: other replicas keep serving it. */
  readonly outlivesProcess = true;
  readonly legacy: RedisLegacy;
  readonly v1: RedisV1;
  readonly #prefix: string;
  /** KEYS[1] of every relay script (<prefix>counts) and ARGV[1] (the settings). */
  readonly #head: [string, Buffer];
  readonly #shareKeys: string[];
  readonly #waitReplicas: number;
  readonly #waitTimeoutMs: number;
  /** Key prefixes lent out with the command connection: not relay state, so snapshot() skips them. */
  readonly #lent: string[] = [];
  #lastError = 'connecting';
  #closed = false;

  constructor(
    readonly limits: StoreLimits,
    options: RedisStoreOptions,
  ) {
    this.mode = modeOf(options);
    this.#prefix = storePrefix(options.prefix, this.mode === 'cluster');
    this.#head = [this.#prefix + 'counts', scriptSettings(limits)];
    this.#shareKeys = shareKeys(this.#prefix);
    this.#waitReplicas = options.waitReplicas ?? 0;
    this.#waitTimeoutMs = options.waitTimeoutMs ?? 100;
    this.#redis = connect(options, 'commands');
    // An 'error' listener is required (ioredis prints unhandled ones); the reason feeds health().
    this.#redis.on('error', (err: Error) => {
      this.#lastError = reasonOf(err);
    });
    this.#redis.on('ready', () => {
      this.#lastError = '';
    });
    this.#fanout = new WakeFanout(connect(options, 'subscriber'), this.#prefix + WAKE_CHANNEL);
    const sources = { ...legacyScripts(), ...v1Scripts() };
    const scripts = {} as Record<ScriptName | V1ScriptName, LuaScript>;
    for (const name of [...SCRIPT_NAMES, ...V1_SCRIPT_NAMES]) scripts[name] = new LuaScript(sources[name]);
    this.#scripts = scripts;
    this.#shareStats = new LuaScript(shareStatsLua());
    this.#shareLimits = shareLimits(limits);
    this.legacy = new RedisLegacy((name, ...args) => this.#run(name, ...args));
    this.v1 = new RedisV1(limits, (name, ...args) => this.#run(name, ...args));
  }

  /**
   * The command connection, for another user of this Redis in the same process (the rate counter),
   * so that a process keeps its two connections (src/store/redis/connection.ts). The borrower keeps
   * its keys under the returned prefix, `<prefix><namespace>`; `namespace` must not start like any
   * store key family (src/protocols/legacy/redis-keys.ts). The store still owns the connection and closes it.
   */
  lendCommands(namespace: string): { redis: RedisClient; prefix: string } {
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
    let reply: unknown;
    try {
      reply = await this.#scripts[name].run(this.#redis, 1, ...this.#head, ...args);
    } catch (err) {
      throw classify(err);
    }
    if (this.#waitReplicas > 0 && DURABLE.has(name)) await this.#replicated();
    return reply;
  }

  /**
   * WAIT on the command connection: it counts this connection's writes so far (the script just
   * run included). A shortfall fails the call (503): the write is on the primary but could be
   * lost at a failover, and the client's retry is idempotent (duplicate admission, duplicate answer).
   */
  async #replicated(): Promise<void> {
    let acked: number;
    try {
      acked = Number(await (this.#redis as unknown as { wait(n: number, ms: number): Promise<number> }).wait(this.#waitReplicas, this.#waitTimeoutMs));
    } catch (err) {
      throw classify(err);
    }
    if (acked < this.#waitReplicas) throw new StoreUnavailableError('NOREPLICAS');
  }

  async stats(now: number): Promise<StoreStats> {
    const [legacy, v1, shares] = await Promise.all([this.legacy.stats(now), this.v1.stats(now), this.#runShareStats()]);
    return {
      nodes: legacy.nodes + v1.stats.v1HealthyNodes,
      queuedRequests: legacy.queued,
      oldestQueuedAgeMs: legacy.oldestQueuedAgeMs,
      inflightRequests: legacy.inflight,
      responses: legacy.responses,
      streamSessions: legacy.streams,
      // One counter holds both protocols' bytes: the cap is shared.
      storedBytes: legacy.storedBytes,
      ...v1.stats,
      shares: parseShareStats(shares, this.#shareLimits),
    };
  }

  async #runShareStats(): Promise<unknown> {
    try {
      return await this.#shareStats.run(this.#redis, this.#shareKeys.length, ...this.#shareKeys);
    } catch (err) {
      throw classify(err);
    }
  }

  async listNodes(now: number, limit: number): Promise<NodeListing> {
    const [legacy, v1] = await Promise.all([this.legacy.listNodes(now, limit), this.v1.listNodes(now, limit)]);
    return { legacy: legacy.views, v1: v1.views, legacyTotal: legacy.total, v1Total: v1.total };
  }

  watch(channel: WakeChannel, key: string): Waiter {
    return this.#fanout.watch(channel, key);
  }

  /** Every key under the prefix, sorted, without TTLs. Test-only: it scans the namespace. */
  async snapshot(): Promise<unknown> {
    const keys = await scanAll(this.#redis, `${globEscape(this.#prefix)}*`);
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

/** The reply of EVALSHA for a script this server has not cached. */

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
