// The doctor's HTTP client: node:http(s) with the operator's extra CA (global fetch cannot take
// one), a keep-alive agent so every timed request runs on a warm connection, a per-request
// timeout, and the elapsed time of each exchange.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed JSON body, undefined when the body is not JSON. */
  json: unknown;
  /** From sending the request to the last byte of the answer. */
  ms: number;
}

export class HttpFailure extends Error {
  override name = 'HttpFailure';
  constructor(
    message: string,
    /** Node's error code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, ...) or `timeout`. */
    readonly code: string,
  ) {
    super(message);
  }
}

/** Answers larger than this are cut: the doctor reads small JSON and the first lines of text. */
const MAX_BODY_BYTES = 1 << 20;

/**
 * The CA set to verify against: Node's default store plus the operator's extra CA. Passing `ca`
 * replaces Node's default, so the defaults are added back (getCACertificates('default') also
 * holds NODE_EXTRA_CA_CERTS where Node has it).
 */
export function trustedCAs(extraCaPem: string | null): string[] | undefined {
  if (extraCaPem === null) return undefined;
  const getCA = (tls as { getCACertificates?: (kind: string) => string[] }).getCACertificates;
  const defaults = typeof getCA === 'function' ? getCA('default') : [...tls.rootCertificates];
  return [...defaults, extraCaPem];
}

export class DoctorHttp {
  private readonly agent: http.Agent;

  constructor(
    readonly base: URL,
    private readonly opts: { ca: string[] | undefined; timeoutMs: number },
  ) {
    this.agent =
      base.protocol === 'https:' ? new https.Agent({ keepAlive: true, ca: opts.ca, maxSockets: 8 }) : new http.Agent({ keepAlive: true, maxSockets: 8 });
  }

  url(route: string): URL {
    return new URL(route.replace(/^\/+/, ''), this.base.href.endsWith('/') ? this.base.href : `${this.base.href}/`);
  }

  get(route: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<HttpAnswer> {
    return this.request('GET', route, undefined, opts);
  }

  post(route: string, body: unknown, opts: { token?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<HttpAnswer> {
    return this.request('POST', route, body, opts);
  }

  request(method: string, route: string, body: unknown, opts: { token?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<HttpAnswer> {
    const target = this.url(route);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json, text/plain;q=0.9, */*;q=0.1', 'user-agent': 'tokenplace-relay-doctor' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (opts.token !== undefined) headers['x-relay-server-token'] = opts.token;
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs;
    const lib = target.protocol === 'https:' ? https : http;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const started = performance.now();
      let settled = false;
      const done = (err: HttpFailure | null, answer?: HttpAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(answer!);
      };
      const req = lib.request(target, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY_BYTES) chunks.push(chunk);
        });
        res.on('error', () => done(new HttpFailure('connection dropped while reading the answer', 'body_read_failed')));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          done(null, { status: res.statusCode ?? 0, headers: res.headers, text, json, ms: performance.now() - started });
        });
      });
      const timer = setTimeout(() => {
        req.destroy();
        done(new HttpFailure(`no answer within ${timeoutMs} ms`, 'timeout'));
      }, timeoutMs);
      const onAbort = (): void => {
        req.destroy();
        done(new HttpFailure('stopped', 'aborted'));
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: NodeJS.ErrnoException) => done(new HttpFailure(err.message, err.code ?? 'network_error')));
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A one-line description of a failed exchange: the error code, never a body. */
export function describeFailure(err: unknown): string {
  if (err instanceof HttpFailure) return (err.message.includes(err.code) ? err.message : `${err.code}: ${err.message}`).slice(0, 160);
  return (err as Error)?.message?.slice(0, 160) ?? String(err);
}

/** The error code of a relay's JSON refusal (`{error: {code}}` or `{error: "..."}`), if any. */
export function refusalCode(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const err = (body as { error?: unknown }).error;
  if (typeof err === 'string') return err.slice(0, 80);
  if (err !== null && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code.slice(0, 80);
  }
  return undefined;
}
