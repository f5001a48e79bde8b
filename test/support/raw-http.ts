// Raw HTTP over node:net from a chosen loopback source address: for requests no HTTP client
// would send (bad framing, oversized headers, silence) and for holding sockets open.
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The peer closed the socket after answering. */
  closed: boolean;
}

export function openSocket(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Parses the first response on the socket; waits at most `maxMs`. */
export function readAnswer(socket: Socket, maxMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let data = '';
    let closed = false;
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${maxMs} ms: ${JSON.stringify(data)}`)), maxMs);
    const parse = (): RawAnswer | null => {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const [statusLine = '', ...lines] = data.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? NaN);
      const body = data.slice(end + 4);
      if (Number.isFinite(length) && Buffer.byteLength(body) < length) return null;
      return { status: Number(statusLine.split(' ')[1]), headers, body, closed };
    };
    const onData = (chunk: Buffer): void => {
      data += chunk.toString('utf8');
      const answer = parse();
      if (answer !== null) finish(null, answer);
    };
    const onEnd = (): void => {
      closed = true;
      const answer = parse();
      finish(answer === null ? new Error(`socket closed without an answer: ${JSON.stringify(data)}`) : null, answer ?? undefined);
    };
    const finish = (err: Error | null, answer?: RawAnswer): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (err !== null) reject(err);
      else resolve(answer!);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', () => onEnd());
  });
}

/** Sends `raw` on a fresh socket and reads the answer. */
export async function rawRequest(port: number, raw: string, localAddress = '127.0.0.1', maxMs = 10_000): Promise<RawAnswer> {
  const socket = await openSocket(port, localAddress);
  try {
    const answer = readAnswer(socket, maxMs);
    socket.write(raw);
    return await answer;
  } finally {
    socket.destroy();
  }
}

/** Resolves when the socket is closed by the peer (true), or false after `maxMs`. */
export function closedWithin(socket: Socket, maxMs: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), maxMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('close', done);
    socket.once('end', done);
    socket.resume();
  });
}
