// The reference: a bare node:http server answering the legacy routes from in-memory Maps, with
// the same long-poll holds as the relay and a plain TTL sweep, but no validation, caps, metrics,
// logging or framework. It stands for what Node itself can do on this machine.
// Env: REF_PORT (0 = any), REF_HOLD_MS (5000), REF_REQUEST_TTL_MS, REF_RESPONSE_TTL_MS.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const HOLD_MS = Number(process.env.REF_HOLD_MS ?? 5000);
const REQUEST_TTL_MS = Number(process.env.REF_REQUEST_TTL_MS ?? 300_000);
const RESPONSE_TTL_MS = Number(process.env.REF_RESPONSE_TTL_MS ?? 120_000);
type Item = { body: Record<string, unknown>; expiresAt: number };
const nodes = new Map<string, number>(); // key -> index in nodeKeys
const nodeKeys: string[] = [];
const queues = new Map<string, Item[]>(); // node key -> FIFO of requests
const responses = new Map<string, Item>(); // client key -> response (insertion order = expiry order)
const waiters = new Map<string, (found: Item | undefined) => void>(); // "s:"/"r:" + key -> held poll

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
function wake(id: string, item: Item): boolean {
  const waiter = waiters.get(id);
  if (waiter === undefined) return false;
  waiters.delete(id);
  waiter(item);
  return true;
}
function hold(id: string, res: ServerResponse, answer: (item: Item | undefined) => void): void {
  waiters.get(id)?.(undefined);
  const timer = setTimeout(() => done(undefined), HOLD_MS);
  const done = (item: Item | undefined): void => {
    clearTimeout(timer);
    if (waiters.get(id) === done) waiters.delete(id);
    answer(item);
  };
  waiters.set(id, done);
  res.on('close', () => {
    if (waiters.get(id) === done) {
      waiters.delete(id);
      clearTimeout(timer);
    }
  });
}
const sinkAnswer = (item: Item | undefined) => ({ next_ping_in_x_seconds: 0, ...(item?.body ?? {}) });
const retrieveAnswer = (item: Item | undefined) => item?.body ?? { error: 'No response available for the given public key' };

function route(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): void {
  const now = Date.now();
  switch (req.url) {
    case '/healthz':
      return send(res, 200, { status: 'ok', knownServers: nodeKeys.length });
    case '/next_server':
      if (nodeKeys.length === 0) return send(res, 200, { error: { code: 503, message: 'No servers available' } });
      return send(res, 200, { server_public_key: nodeKeys[Math.floor(Math.random() * nodeKeys.length)] });
    case '/faucet': {
      const { server_public_key: node, client_public_key, chat_history, cipherkey, iv } = body as Record<string, string | undefined>;
      if (node === undefined) return send(res, 400, { error: { code: 400, message: 'Missing fields' } });
      if (!nodes.has(node)) return send(res, 400, { error: { code: 400, message: 'Server not found' } });
      const item = { body: { client_public_key, chat_history, cipherkey, iv }, expiresAt: now + REQUEST_TTL_MS };
      if (!wake(`s:${node}`, item)) {
        const queue = queues.get(node);
        if (queue === undefined) queues.set(node, [item]);
        else queue.push(item);
      }
      return send(res, 200, { message: 'Request received' });
    }
    case '/sink': {
      const node = String(body.server_public_key);
      if (!nodes.has(node)) nodes.set(node, nodeKeys.push(node) - 1);
      const item = queues.get(node)?.shift();
      if (item !== undefined || HOLD_MS <= 0) return send(res, 200, sinkAnswer(item));
      return hold(`s:${node}`, res, (found) => send(res, 200, sinkAnswer(found)));
    }
    case '/source': {
      const { chat_history, cipherkey, iv } = body;
      const client = String(body.client_public_key);
      const item = { body: { chat_history, cipherkey, iv }, expiresAt: now + RESPONSE_TTL_MS };
      if (!wake(`r:${client}`, item)) {
        responses.delete(client);
        responses.set(client, item);
      }
      return send(res, 200, { message: 'Response received and queued for client' });
    }
    case '/retrieve': {
      const client = String(body.client_public_key);
      const item = responses.get(client);
      if (item !== undefined || HOLD_MS <= 0) {
        responses.delete(client);
        return send(res, 200, retrieveAnswer(item));
      }
      return hold(`r:${client}`, res, (found) => send(res, 200, retrieveAnswer(found)));
    }
    default:
      return send(res, 404, { error: 'not found' });
  }
}

const server = createServer((req, res) => {
  if (req.method === 'GET') return route(req, res, {});
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return send(res, 400, { error: 'bad json' });
    }
    route(req, res, body);
  });
});
server.keepAliveTimeout = 72_000;
setInterval(() => {
  const now = Date.now();
  for (const [node, queue] of queues) {
    const firstLive = queue.findIndex((item) => item.expiresAt > now);
    if (firstLive < 0) queues.delete(node);
    else if (firstLive > 0) queue.splice(0, firstLive);
  }
  for (const [client, item] of responses) {
    if (item.expiresAt > now) break;
    responses.delete(client);
  }
}, 1000).unref();
server.listen(Number(process.env.REF_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : ''}\n`);
});
process.on('SIGTERM', () => process.exit(0));
