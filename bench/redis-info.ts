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
  /** Microseconds Redis spent executing each command (cmdstat usec; a script's includes the commands it calls). */
  usec: Record<string, number>;
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
    const usec: Record<string, number> = {};
    for (const [name, value] of f) {
      if (!name.startsWith('cmdstat_')) continue;
      const command = name.slice('cmdstat_'.length);
      if (command === 'info') continue;
      calls[command] = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
      usec[command] = Number(/usec=(\d+)/.exec(value)?.[1] ?? 0);
    }
    const mainSys = num('used_cpu_sys_main_thread');
    const mainUser = num('used_cpu_user_main_thread');
    return {
      cpuS: (num('used_cpu_sys') ?? NaN) + (num('used_cpu_user') ?? NaN),
      mainThreadCpuS: mainSys === null || mainUser === null ? null : mainSys + mainUser,
      calls,
      usec,
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
  /**
   * Where Redis's time went, µs over the window: running scripts (their Lua and the commands they
   * call), the commands among that (the relay sends almost none outside scripts), and the rest of
   * its CPU time outside scripts: reading and writing sockets, parsing, the event loop, active
   * expiry. commandstats times are wall time, so under CPU contention `restUs` can go below zero.
   */
  split: { scriptsUs: number; commandsUs: number; restUs: number };
  usedMemoryDelta: number;
}

const SCRIPT_COMMANDS = ['evalsha', 'eval', 'fcall', 'evalsha_ro', 'eval_ro', 'fcall_ro'];

export function diff(before: RedisSnapshot, after: RedisSnapshot): RedisWindow {
  const byCommand: Record<string, number> = {};
  let commands = 0;
  for (const [name, calls] of Object.entries(after.calls)) {
    const n = calls - (before.calls[name] ?? 0);
    if (n <= 0) continue;
    byCommand[name] = n;
    commands += n;
  }
  const evalCalls = SCRIPT_COMMANDS.reduce((sum, name) => sum + (byCommand[name] ?? 0), 0);
  const usecOf = (name: string): number => (after.usec[name] ?? 0) - (before.usec[name] ?? 0);
  const scriptsUs = SCRIPT_COMMANDS.reduce((sum, name) => sum + usecOf(name), 0);
  // commandstats counts the commands a script calls as well, their time inside the script's.
  const commandsUs = Object.keys(after.usec).reduce((sum, name) => (SCRIPT_COMMANDS.includes(name) ? sum : sum + usecOf(name)), 0);
  const cpuUs = (after.cpuS - before.cpuS) * 1e6;
  return {
    cpuUs,
    mainThreadCpuUs: after.mainThreadCpuS === null || before.mainThreadCpuS === null ? null : (after.mainThreadCpuS - before.mainThreadCpuS) * 1e6,
    commands,
    evalCalls,
    byCommand,
    split: { scriptsUs, commandsUs, restUs: cpuUs - scriptsUs },
    usedMemoryDelta: after.usedMemory - before.usedMemory,
  };
}
