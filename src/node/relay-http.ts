// Minimal JSON-over-HTTP calls from a compute node to a relay, with a timeout and stop signal.

export interface RelayAnswer {
  status: number;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
}

export class RelayUnreachableError extends Error {
  override name = 'RelayUnreachableError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class StoppedError extends Error {
  override name = 'StoppedError';
}

/** base URL without trailing slash + route. */
export function relayRoute(relayUrl: string, route: string): string {
  return `${relayUrl.replace(/\/+$/, '')}${route}`;
}

/** Origin (scheme://host:port) of a relay URL, for log lines: never path, query or credentials. */
export function relayOrigin(relayUrl: string): string {
  try {
    return new URL(relayUrl).origin;
  } catch {
    return 'invalid-url';
  }
}

export interface PostOptions {
  token?: string;
  timeoutMs: number;
  stop: AbortSignal;
}

export async function postJson(url: string, body: unknown, opts: PostOptions): Promise<RelayAnswer> {
  if (opts.stop.aborted) throw new StoppedError('stopped');
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (opts.token) headers['x-relay-server-token'] = opts.token;
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.any([opts.stop, timeout]) });
  } catch (err) {
    if (opts.stop.aborted) throw new StoppedError('stopped');
    if (timeout.aborted) throw new RelayUnreachableError(`no answer within ${opts.timeoutMs} ms`, 'timeout');
    const cause = (err as { cause?: { code?: string } }).cause;
    throw new RelayUnreachableError('cannot reach the relay', cause?.code ?? 'network_error');
  }
  let text: string;
  try {
    text = await res.text();
  } catch {
    if (opts.stop.aborted) throw new StoppedError('stopped');
    throw new RelayUnreachableError('connection dropped while reading the answer', 'body_read_failed');
  }
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed };
}

/** A short, payload-free description of an error body: its code, if it has one. */
export function errorCode(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const err = (body as { error?: unknown }).error;
  if (typeof err === 'string') return err.slice(0, 80);
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') return String(code);
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'string') return status;
  }
  return undefined;
}
