// A minimal keep-alive HTTP/1.1 client over one TCP socket: one request at a time, the request
// bytes prebuilt by the caller where possible. Much cheaper per request than node:http's client,
// so the load generator, not the client library, sets the pace. Understands Content-Length and
// chunked bodies, which is all the relay and the reference send.
import { connect, type Socket } from 'node:net';

export interface HttpAnswer {
  status: number;
  body: Buffer;
}

export class HttpError extends Error {}

const CRLF2 = Buffer.from('\r\n\r\n');

export function buildRequest(method: string, host: string, path: string, body?: string): Buffer {
  if (body === undefined) {
    return Buffer.from(`${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n\r\n`, 'latin1');
  }
  const payload = Buffer.from(body, 'utf8');
  const head = Buffer.from(
    `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\n\r\n`,
    'latin1',
  );
  return Buffer.concat([head, payload]);
}

interface Pending {
  resolve(answer: HttpAnswer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

export class HttpConn {
  #socket: Socket | null = null;
  #connecting: Promise<Socket> | null = null;
  #buf: Buffer = Buffer.alloc(0);
  #pending: Pending | null = null;
  readonly host: string;

  /** `localAddress`: the source address to bind (a loopback 127.x.y.z stands for one peer). */
  constructor(
    readonly hostname: string,
    readonly port: number,
    readonly localAddress?: string,
  ) {
    this.host = `${hostname}:${port}`;
  }

  static fromUrl(url: string, localAddress?: string): HttpConn {
    const u = new URL(url);
    return new HttpConn(u.hostname, Number(u.port || 80), localAddress);
  }

  #open(): Promise<Socket> {
    if (this.#socket !== null) return Promise.resolve(this.#socket);
    this.#connecting ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect({
        host: this.hostname,
        port: this.port,
        noDelay: true,
        ...(this.localAddress === undefined ? {} : { localAddress: this.localAddress }),
      });
      const onError = (err: Error): void => {
        this.#connecting = null;
        reject(err);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        socket.on('error', (err) => this.#fail(err));
        socket.on('close', () => this.#fail(new HttpError('connection closed')));
        socket.on('data', (chunk: Buffer) => this.#onData(chunk));
        this.#socket = socket;
        this.#connecting = null;
        resolve(socket);
      });
    });
    return this.#connecting;
  }

  #fail(err: Error): void {
    this.#socket?.destroy();
    this.#socket = null;
    this.#buf = Buffer.alloc(0);
    const pending = this.#pending;
    this.#pending = null;
    if (pending !== null) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    if (this.#pending === null) return;
    const end = this.#buf.indexOf(CRLF2);
    if (end < 0) return;
    const head = this.#buf.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const clMatch = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    let body: Buffer;
    let consumed: number;
    if (clMatch !== null) {
      const len = Number(clMatch[1]);
      if (this.#buf.length < end + 4 + len) return;
      body = Buffer.from(this.#buf.subarray(end + 4, end + 4 + len));
      consumed = end + 4 + len;
    } else if (/\r\ntransfer-encoding:\s*chunked/.test(lower)) {
      const parts: Buffer[] = [];
      let at = end + 4;
      for (;;) {
        const lineEnd = this.#buf.indexOf('\r\n', at);
        if (lineEnd < 0) return;
        const size = parseInt(this.#buf.subarray(at, lineEnd).toString('latin1'), 16);
        if (this.#buf.length < lineEnd + 2 + size + 2) return;
        if (size === 0) {
          consumed = lineEnd + 4;
          break;
        }
        parts.push(this.#buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      body = Buffer.alloc(0);
      consumed = end + 4;
    }
    this.#buf = this.#buf.length === consumed ? Buffer.alloc(0) : this.#buf.subarray(consumed);
    const pending = this.#pending;
    this.#pending = null;
    clearTimeout(pending.timer);
    if (/\r\nconnection:\s*close/.test(lower)) {
      this.#socket?.destroy();
      this.#socket = null;
    }
    pending.resolve({ status, body });
  }

  /** Opens the socket now (a ramp of many connections paces itself on this). */
  async connect(): Promise<void> {
    await this.#open();
  }

  /** Sends prebuilt request bytes and resolves with the answer; rejects on timeout or close. */
  async send(raw: Buffer, timeoutMs = 10_000): Promise<HttpAnswer> {
    if (this.#pending !== null) throw new HttpError('request already in flight on this connection');
    const socket = await this.#open();
    return new Promise<HttpAnswer>((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => this.#fail(new HttpError(`timeout after ${timeoutMs} ms`)), timeoutMs) : undefined;
      this.#pending = { resolve, reject, timer };
      socket.write(raw);
    });
  }

  request(method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<HttpAnswer> {
    return this.send(buildRequest(method, this.host, path, body === undefined ? undefined : JSON.stringify(body)), timeoutMs);
  }

  async json(method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<{ status: number; data: Record<string, unknown> }> {
    const answer = await this.request(method, path, body, timeoutMs);
    return { status: answer.status, data: JSON.parse(answer.body.toString('utf8')) as Record<string, unknown> };
  }

  /** Closes with a reset so no TIME_WAIT is left behind on this side. */
  close(): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null) {
      socket.removeAllListeners('close');
      socket.on('error', () => {});
      if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else socket.destroy();
    }
    this.#fail(new HttpError('closed by caller'));
  }
}
