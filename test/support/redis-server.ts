// A throwaway redis-server on a free loopback port, persistence off, for tests that need a real
// Redis. `requireRedis(t)` skips on a laptop without redis-server and fails under CI=true.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import type { TestContext } from 'node:test';
import { requireTool } from './tools.js';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGKILL when `hard`); its data is gone (no persistence). */
  stop(hard?: boolean): Promise<void>;
  /** Starts a fresh, empty server on the same port (after stop()). */
  restart(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Launches redis-server from `binary`; the caller stops it. */
export async function launchRedis(binary: string): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const proc = spawn(binary, ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child = proc;
    await waitForPort(port, 10_000);
  };
  const stop = async (hard = false): Promise<void> => {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, restart: start };
}

/** Starts redis-server for one test (stopped after it), or null when it is missing (skipped). */
export async function startRedis(t: TestContext): Promise<RedisServer | null> {
  const binary = requireTool(t, 'redis-server', 'apt-get install redis-server');
  if (binary === null) return null;
  const server = await launchRedis(binary);
  t.after(() => server.stop(true));
  return server;
}
