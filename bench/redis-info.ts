// Reads a redis-server's own accounting (INFO cpu, commandstats, memory) so that a window of
// load can be charged to it: CPU seconds, commands by name, used_memory. The bench's own INFO
// calls are left out of the command counts.
import { Redis } from 'ioredis';

export interface RedisSnapshot {
  /** used_cpu_sys + used_cpu_user, seconds. */
  cpuS: number;
  /** The same for the main thread only (Redis ≥ 6.2), or null. */
  mainThreadCpuS: number | null;
  /** calls per command, cmdstat_<name> → calls. */
  calls: Record<string, number>;
  usedMemory: number;
}

function fields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return out;
}

export class RedisProbe {
  readonly #redis: Redis;

  constructor(url: string) {
    this.#redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
    this.#redis.on('error', () => {});
  }

  async snapshot(): Promise<RedisSnapshot> {
    const text = String(await this.#redis.info('everything'));
    const f = fields(text);
    const num = (name: string): number | null => (f.has(name) ? Number(f.get(name)) : null);
    const calls: Record<string, number> = {};
    for (const [name, value] of f) {
      if (!name.startsWith('cmdstat_')) continue;
      const command = name.slice('cmdstat_'.length);
      if (command === 'info') continue;
      calls[command] = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
    }
    const mainSys = num('used_cpu_sys_main_thread');
    const mainUser = num('used_cpu_user_main_thread');
    return {
      cpuS: (num('used_cpu_sys') ?? NaN) + (num('used_cpu_user') ?? NaN),
      mainThreadCpuS: mainSys === null || mainUser === null ? null : mainSys + mainUser,
      calls,
      usedMemory: num('used_memory') ?? NaN,
    };
  }

  async flushAll(): Promise<void> {
    await this.#redis.flushall();
  }

  close(): void {
    this.#redis.disconnect();
  }
}

export interface RedisWindow {
  cpuUs: number;
  mainThreadCpuUs: number | null;
  commands: number;
  evalCalls: number;
  byCommand: Record<string, number>;
  usedMemoryDelta: number;
}

export function diff(before: RedisSnapshot, after: RedisSnapshot): RedisWindow {
  const byCommand: Record<string, number> = {};
  let commands = 0;
  for (const [name, calls] of Object.entries(after.calls)) {
    const n = calls - (before.calls[name] ?? 0);
    if (n <= 0) continue;
    byCommand[name] = n;
    commands += n;
  }
  const evalCalls = (byCommand.evalsha ?? 0) + (byCommand.eval ?? 0) + (byCommand.fcall ?? 0) + (byCommand.evalsha_ro ?? 0) + (byCommand.eval_ro ?? 0);
  return {
    cpuUs: (after.cpuS - before.cpuS) * 1e6,
    mainThreadCpuUs: after.mainThreadCpuS === null || before.mainThreadCpuS === null ? null : (after.mainThreadCpuS - before.mainThreadCpuS) * 1e6,
    commands,
    evalCalls,
    byCommand,
    usedMemoryDelta: after.usedMemory - before.usedMemory,
  };
}
