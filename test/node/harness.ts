// Test helpers: run the relay as a real process on a free port (and restart it on the same
// port), collect a logger's JSON lines, and play the client side of both relay protocols with
// our own crypto.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { decryptJson, encryptJson, generateKeyPair, StreamDecryptor, type KeyPair, type StreamChunkCiphertext } from '../../src/crypto/index.js';

export const repoRoot = join(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Builds dist/ when it is missing (npm test builds first; a single-file run may not have). */
export function ensureBuilt(): void {
  if (existsSync(join(repoRoot, 'dist', 'src', 'cli.js')) && existsSync(join(repoRoot, 'dist', 'web', 'index.html'))) return;
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
}

export interface RelayProcess {
  url: string;
  port: number;
  output: () => string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** `node dist/src/cli.js serve` on 127.0.0.1:<port>; start() again reuses the same port. */
export async function spawnRelay(env: Record<string, string> = {}, port?: number): Promise<RelayProcess> {
  ensureBuilt();
  const p = port ?? (await freePort());
  const url = `http://127.0.0.1:${p}`;
  let child: ChildProcess | null = null;
  let out = '';
  const relay: RelayProcess = {
    url,
    port: p,
    output: () => out,
    async start() {
      child = spawn(process.execPath, [join(repoRoot, 'dist', 'src', 'cli.js'), 'serve'], {
        cwd: repoRoot,
        env: {
          ...process.env,
          RELAY_HOST: '127.0.0.1',
          RELAY_PORT: String(p),
          TOKENPLACE_RELAY_DRAIN_SECONDS: '2',
          TOKENPLACE_RELAY_DRAIN_LINGER_MS: '0',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const c = child;
      await waitFor('relay /livez', async () => {
        if (c.exitCode !== null) throw new Error(`relay exited with ${c.exitCode}: ${out.slice(-2000)}`);
        const r = await fetch(`${url}/livez`);
        return r.ok ? true : undefined;
      });
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      child = null;
    },
  };
  await relay.start();
  return relay;
}

/** A pino logger whose JSON lines are kept for assertions. */
export function captureLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[]; text: () => string } {
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  return {
    logger,
    text: () => buf,
    lines: () =>
      buf
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: r.status, body: parsed };
}

export interface Chat {
  role: string;
  content: string;
}

/** A legacy-protocol client (like upstream client.py): /next_server, /faucet, /retrieve. */
export class LegacyClient {
  private constructor(
    readonly relay: string,
    readonly keys: KeyPair,
  ) {}

  static async create(relay: string): Promise<LegacyClient> {
    return new LegacyClient(relay, await generateKeyPair());
  }

  async nodeKey(): Promise<string | undefined> {
    const r = await fetch(`${this.relay}/next_server`);
    const b = (await r.json()) as { server_public_key?: string };
    return typeof b.server_public_key === 'string' ? b.server_public_key : undefined;
  }

  async send(history: Chat[], opts: { stream?: boolean; timeoutMs?: number } = {}): Promise<Chat[] | string> {
    const serverKey = await waitFor('a node at /next_server', () => this.nodeKey());
    const enc = encryptJson(history, serverKey);
    const f = await post(`${this.relay}/faucet`, {
      server_public_key: serverKey,
      client_public_key: this.keys.publicKeyWire,
      chat_history: enc.ciphertext,
      cipherkey: enc.cipherkey,
      iv: enc.iv,
      ...(opts.stream ? { stream: true } : {}),
    });
    if (f.status !== 200) throw new Error(`faucet ${f.status}: ${JSON.stringify(f.body)}`);
    if (opts.stream) {
      const dec = new StreamDecryptor(this.keys.privateKeyPem);
      let text = '';
      await waitFor(
        'stream final chunk',
        async () => {
          const r = await post(`${this.relay}/stream/retrieve`, { client_public_key: this.keys.publicKeyWire });
          if (r.status !== 200 || !Array.isArray(r.body.chunks)) return undefined;
          for (const c of r.body.chunks as StreamChunkCiphertext[]) text += (JSON.parse(dec.decrypt(c).toString('utf8')) as { delta: string }).delta;
          return r.body.final === true ? true : undefined;
        },
        opts.timeoutMs ?? 30_000,
        100,
      );
      return text;
    }
    return waitFor(
      'legacy reply',
      async () => {
        const r = await post(`${this.relay}/retrieve`, { client_public_key: this.keys.publicKeyWire });
        if (r.status !== 200 || typeof r.body.chat_history !== 'string') return undefined;
        return decryptJson({ ciphertext: r.body.chat_history, cipherkey: r.body.cipherkey, iv: r.body.iv }, this.keys.privateKeyPem) as Chat[];
      },
      opts.timeoutMs ?? 30_000,
      100,
    );
  }
}

/** An API v1 client (like the upstream HEAD browser page). */
export class V1Client {
  private constructor(
    readonly relay: string,
    readonly keys: KeyPair,
  ) {}

  static async create(relay: string): Promise<V1Client> {
    return new V1Client(relay, await generateKeyPair());
  }

  async nodeKey(): Promise<string | undefined> {
    const r = await fetch(`${this.relay}/api/v1/relay/servers/next`);
    if (r.status !== 200) return undefined;
    const b = (await r.json()) as { server_public_key?: string };
    return typeof b.server_public_key === 'string' ? b.server_public_key : undefined;
  }

  async send(messages: Chat[], timeoutMs = 30_000): Promise<{ envelope: any; requestId: string }> {
    const serverKey = await waitFor('a node at /api/v1/relay/servers/next', () => this.nodeKey());
    const requestId = `req-${Math.random().toString(16).slice(2)}`;
    const envelope = {
      protocol: 'tokenplace_api_v1_relay_e2ee',
      version: 1,
      request_id: requestId,
      client_public_key: this.keys.publicKeyWire,
      api_v1_request: { model: 'qwen3-8b-instruct', messages, options: {} },
    };
    const enc = encryptJson(envelope, serverKey);
    const f = await post(`${this.relay}/api/v1/relay/requests`, {
      server_public_key: serverKey,
      client_public_key: this.keys.publicKeyWire,
      request_id: requestId,
      protocol: 'tokenplace_api_v1_relay_e2ee',
      version: 1,
      cancel_token: `cancel-${requestId}`,
      chat_history: enc.ciphertext,
      cipherkey: enc.cipherkey,
      iv: enc.iv,
    });
    if (f.status !== 200) throw new Error(`requests ${f.status}: ${JSON.stringify(f.body)}`);
    const reply = await waitFor(
      'v1 reply',
      async () => {
        const r = await post(`${this.relay}/api/v1/relay/responses/retrieve`, { client_public_key: this.keys.publicKeyWire, request_id: requestId });
        if (r.status === 202) return undefined;
        if (r.status !== 200) throw new Error(`retrieve ${r.status}: ${JSON.stringify(r.body)}`);
        return r.body as { chat_history?: string; ciphertext?: string; cipherkey: string; iv: string };
      },
      timeoutMs,
      10,
    );
    const envelopeOut = decryptJson(
      { ciphertext: (reply.chat_history ?? reply.ciphertext)!, cipherkey: reply.cipherkey, iv: reply.iv },
      this.keys.privateKeyPem,
    );
    return { envelope: envelopeOut, requestId };
  }
}

/** True when the relay at `url` serves the API v1 relay routes. */
export async function hasApiV1(url: string): Promise<boolean> {
  const r = await fetch(`${url}/api/v1/relay/servers/next`);
  await r.body?.cancel();
  return r.status !== 404 && r.status !== 410;
}
