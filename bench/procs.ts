// Child processes of the bench: servers and the load generator, each pinned to a core when the
// machine has two or more and `taskset` exists, each with its file-descriptor limit raised to the
// hard limit. Every child is killed when the bench exits, however it exits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpConn } from './http-conn.js';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
export const pinning = hasTaskset && availableParallelism() >= 2 ? { server: 0, load: 1 } : null;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * File descriptors every child is given: the hard limit is first raised to this where the bench
 * may (root with CAP_SYS_RESOURCE, up to /proc/sys/fs/nr_open), then the soft limit to the hard
 * one. The held-poll step needs one descriptor per held poll in the relay and in the load generator.
 */
export const FD_WANTED = 65_536;
const RAISE_FDS = `ulimit -Hn ${FD_WANTED} 2>/dev/null; ulimit -n "$(ulimit -Hn)" 2>/dev/null;`;

/** The file-descriptor limit a child gets (what `RAISE_FDS` reaches), and whether it was raised above the inherited hard limit. */
export function childFdLimit(): { limit: number; inheritedHard: number; raised: boolean } {
  const out = spawnSync('bash', ['-c', `H=$(ulimit -Hn); ${RAISE_FDS} echo "$H $(ulimit -n)"`], { encoding: 'utf8' })
    .stdout.trim()
    .split(' ');
  const num = (x: string | undefined): number => (x === 'unlimited' ? 1_048_576 : Number(x) || 1024);
  const [inheritedHard, limit] = [num(out[0]), num(out[1])];
  return { limit, inheritedHard, raised: limit > inheritedHard };
}

/** Spawns `argv` through bash (for `ulimit -n`) and taskset; the child's pid is the program's. */
export function spawnPinned(cpu: number | null, argv: string[], env: NodeJS.ProcessEnv, stdio: 'pipe' | 'ignore-out' = 'ignore-out'): ChildProcess {
  const pin = cpu !== null && pinning !== null ? `taskset -c ${cpu} ` : '';
  const script = `${RAISE_FDS} exec ${pin}"$@"`;
  const child = spawn('bash', ['-c', script, 'bench', ...argv], {
    env,
    stdio: stdio === 'pipe' ? ['pipe', 'pipe', 'inherit'] : ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export interface Server {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts a server process and waits until GET /healthz answers 200 (or the process dies). */
export async function startServer(name: string, argv: string[], env: NodeJS.ProcessEnv, port: number, timeoutMs = 20_000): Promise<Server> {
  const child = spawnPinned(pinning?.server ?? null, argv, env);
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (err.length < 20_000) err += chunk.toString('utf8');
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => true), sleep(8000).then(() => false)]);
    if (!killed) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    const conn = HttpConn.fromUrl(url);
    try {
      const answer = await conn.request('GET', '/healthz', undefined, 1000);
      if (answer.status === 200) return { name, url, pid: child.pid!, child, stderr: () => err, stop };
    } catch {
      // not listening yet
    } finally {
      conn.close();
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`${name} did not become ready: ${err.trim().split('\n').slice(-5).join(' | ') || 'no output'}`);
}

/** Resident set size of a process in MB, from /proc/<pid>/status. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  if (pid <= 0) return NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
}

/** The load generator: one long-lived process answering one JSON job per line. */
export class LoadWorker {
  readonly #child: ChildProcess;
  #buffer = '';
  #waiting: ((line: string) => void) | null = null;

  constructor(root: string) {
    this.#child = spawnPinned(pinning?.load ?? null, [process.execPath, '--import', 'tsx', `${root}/bench/load.ts`], process.env, 'pipe');
    this.#child.stdout!.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        const waiting = this.#waiting;
        this.#waiting = null;
        waiting?.(line);
      }
    });
  }

  /** Runs one job; rejects if it errors or takes longer than `limitMs`. */
  async run<T = Record<string, unknown>>(job: Record<string, unknown>, limitMs: number): Promise<T> {
    if (this.#child.exitCode !== null) throw new Error('load generator exited');
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = null;
        reject(new Error(`load job ${String(job.kind)} exceeded ${limitMs} ms`));
      }, limitMs);
      const onExit = (): void => reject(new Error('load generator exited'));
      this.#child.once('exit', onExit);
      this.#waiting = (l) => {
        clearTimeout(timer);
        this.#child.off('exit', onExit);
        resolve(l);
      };
      this.#child.stdin!.write(`${JSON.stringify(job)}\n`);
    });
    const parsed = JSON.parse(line) as { ok: boolean; result?: T; error?: string };
    if (!parsed.ok) throw new Error(`load job ${String(job.kind)} failed: ${parsed.error}`);
    return parsed.result as T;
  }

  close(): void {
    this.#child.stdin!.end();
    this.#child.kill('SIGTERM');
  }
}
