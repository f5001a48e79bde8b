// Real Redis topologies for tests, on loopback, in a temp dir, stopped by the test:
//   startSentinel(t): 1 primary, 1 replica, 3 sentinels (quorum 2, down-after 1 s);
//   startRedisCluster(t): 3 primaries joined with `redis-cli --cluster create --cluster-yes`.
// Each skips on a laptop without the binaries (requireTool) and fails under CI=true.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.js';
import { requireTool } from './tools.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Proc {
  readonly port: number;
  /** SIGKILL (hard) or SIGTERM; resolves once it exited. */
  stop(hard?: boolean): Promise<void>;
  /** Starts it again with the same arguments (after stop()). */
  start(): Promise<void>;
  readonly running: boolean;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** One INFO/command round trip on a short-lived connection; null when it fails. */
export async function ask(port: number, ...command: string[]): Promise<unknown> {
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
    commandTimeout: 1000,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await redis.call(command[0]!, ...command.slice(1));
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

function launch(binary: string, args: string[], port: number): Proc {
  let child: ChildProcess | null = null;
  const proc: Proc = {
    port,
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'ignore'] });
      await waitFor(`${binary} on ${port}`, 10_000, async () => (await ask(port, 'PING')) === 'PONG');
    },
    async stop(hard = false) {
      const c = child;
      child = null;
      if (c === null || c.exitCode !== null || c.signalCode !== null) return;
      const exited = once(c, 'exit');
      c.kill(hard ? 'SIGKILL' : 'SIGTERM');
      await exited;
    },
  };
  return proc;
}

const SERVER_ARGS = ['--bind', '127.0.0.1', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'];

export interface SentinelSetup {
  readonly primary: Proc;
  readonly replica: Proc;
  readonly sentinels: Proc[];
  readonly master: string;
  /** For RedisStoreOptions.sentinel / TOKENPLACE_REDIS_SENTINELS. */
  readonly addresses: { host: string; port: number }[];
  readonly env: Record<string, string>;
  /** The port the sentinels name as primary now. */
  currentPrimary(): Promise<number | null>;
}

export async function startSentinel(t: TestContext): Promise<SentinelSetup | null> {
  const server = requireTool(t, 'redis-server', 'apt-get install redis-server');
  const sentinel = requireTool(t, 'redis-sentinel', 'apt-get install redis-sentinel');
  if (server === null || sentinel === null) return null;
  const dir = mkdtempSync(join(tmpdir(), 'tp-sentinel-'));
  const procs: Proc[] = [];
  t.after(async () => {
    await Promise.all(procs.map((p) => p.stop(true)));
    rmSync(dir, { recursive: true, force: true });
  });
  const master = 'relaymaster';
  const [p1, p2] = [await freePort(), await freePort()];
  const primary = launch(server, [...SERVER_ARGS, '--port', String(p1), '--dir', dir, '--dbfilename', `p${p1}.rdb`], p1);
  procs.push(primary);
  await primary.start();
  const replica = launch(
    server,
    [...SERVER_ARGS, '--port', String(p2), '--dir', dir, '--dbfilename', `p${p2}.rdb`, '--replicaof', '127.0.0.1', String(p1)],
    p2,
  );
  procs.push(replica);
  await replica.start();
  await waitFor('replica in sync', 10_000, async () => String(await ask(p2, 'INFO', 'replication')).includes('master_link_status:up'));
  const sentinels: Proc[] = [];
  for (let i = 0; i < 3; i += 1) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${port}.conf`);
    // Sentinel rewrites its config file (it records what it learns), so each gets its own.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor ${master} 127.0.0.1 ${p1} 2`,
        `sentinel down-after-milliseconds ${master} 1000`,
        `sentinel failover-timeout ${master} 5000`,
        `sentinel parallel-syncs ${master} 1`,
        '',
      ].join('\n'),
    );
    const proc = launch(sentinel, [conf], port);
    procs.push(proc);
    sentinels.push(proc);
    await proc.start();
  }
  // Failover needs the sentinels to know each other and the replica (hello messages, ~2 s).
  await waitFor('sentinels discovered', 20_000, async () => {
    for (const s of sentinels) {
      const info = (await ask(s.port, 'SENTINEL', 'MASTER', master)) as string[] | null;
      if (info === null) return false;
      const field = (name: string) => Number(info[info.indexOf(name) + 1]);
      if (field('num-other-sentinels') < 2 || field('num-slaves') < 1) return false;
    }
    return true;
  });
  const addresses = sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  return {
    primary,
    replica,
    sentinels,
    master,
    addresses,
    env: { TOKENPLACE_REDIS_SENTINELS: addresses.map((a) => `${a.host}:${a.port}`).join(','), TOKENPLACE_REDIS_SENTINEL_MASTER: master },
    async currentPrimary() {
      for (const s of sentinels) {
        const reply = (await ask(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', master)) as [string, string] | null;
        if (reply !== null) return Number(reply[1]);
      }
      return null;
    },
  };
}

export interface ClusterSetup {
  readonly nodes: Proc[];
  readonly addresses: { host: string; port: number }[];
  readonly env: Record<string, string>;
  /** The node that owns the slot of `key` (its hash tag). */
  ownerOf(key: string): Promise<Proc>;
}

/**
 * Three primaries, no replicas. `persistent` turns on AOF with fsync on every write, so a restart
 * of a primary keeps what it acknowledged (the primary-restart test).
 */
export async function startRedisCluster(t: TestContext, persistent = false): Promise<ClusterSetup | null> {
  const server = requireTool(t, 'redis-server', 'apt-get install redis-server');
  const cli = requireTool(t, 'redis-cli', 'apt-get install redis-tools');
  if (server === null || cli === null) return null;
  const dir = mkdtempSync(join(tmpdir(), 'tp-cluster-'));
  const nodes: Proc[] = [];
  t.after(async () => {
    await Promise.all(nodes.map((p) => p.stop(true)));
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 3; i += 1) {
    const port = await freePort();
    const args = [
      '--bind',
      '127.0.0.1',
      '--protected-mode',
      'no',
      '--port',
      String(port),
      '--dir',
      dir,
      '--save',
      '',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      '2000',
      '--dbfilename',
      `d${port}.rdb`,
      '--appendfilename',
      `a${port}.aof`,
      '--appenddirname',
      `aof-${port}`,
      ...(persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ];
    const proc = launch(server, args, port);
    nodes.push(proc);
    await proc.start();
  }
  const create = spawnSync(cli, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  await waitFor('cluster state ok', 20_000, async () => {
    for (const n of nodes) if (!String(await ask(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
    return true;
  });
  const addresses = nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  return {
    nodes,
    addresses,
    env: { TOKENPLACE_REDIS_CLUSTER_NODES: addresses.map((a) => `${a.host}:${a.port}`).join(',') },
    async ownerOf(key: string) {
      const slot = Number(await ask(nodes[0]!.port, 'CLUSTER', 'KEYSLOT', key));
      const shards = (await ask(nodes[0]!.port, 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const shard = shards.find(([from, to]) => slot >= from && slot <= to)!;
      return nodes.find((n) => n.port === Number(shard[2][1]))!;
    },
  };
}

/** Waits until every cluster node reports cluster_state:ok again (after a restart). */
export async function clusterHealthy(setup: ClusterSetup, timeoutMs = 20_000): Promise<void> {
  await waitFor('cluster state ok', timeoutMs, async () => {
    for (const n of setup.nodes) if (!String(await ask(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
    return true;
  });
}
