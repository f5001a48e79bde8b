// The framework floor: the reference server's legacy routes (bench/reference-server.ts: in-memory
// Maps, the same holds, no validation, caps, metrics or logging) on a bare Fastify 5 instance
// (no logger, no hooks, no plugins). Beside the node:http reference it shows what the framework
// alone costs per request, before anything the relay does.
// Env: REF_PORT (0 = any), REF_HOLD_MS (5000).
import Fastify, { type FastifyReply } from 'fastify';

const HOLD_MS = Number(process.env.REF_HOLD_MS ?? 5000);
type Body = Record<string, unknown>;
const nodes = new Set<string>();
const nodeKeys: string[] = [];
const queues = new Map<string, Body[]>();
const responses = new Map<string, Body>();
const waiters = new Map<string, (found: Body | undefined) => void>();

function wake(id: string, item: Body): boolean {
  const waiter = waiters.get(id);
  if (waiter === undefined) return false;
  waiters.delete(id);
  waiter(item);
  return true;
}
function hold(id: string, reply: FastifyReply): Promise<Body | undefined> {
  waiters.get(id)?.(undefined);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), HOLD_MS);
    const done = (item: Body | undefined): void => {
      clearTimeout(timer);
      if (waiters.get(id) === done) waiters.delete(id);
      resolve(item);
    };
    waiters.set(id, done);
    reply.raw.on('close', () => {
      if (waiters.get(id) === done) {
        waiters.delete(id);
        clearTimeout(timer);
      }
    });
  });
}

const app = Fastify({ logger: false, keepAliveTimeout: 72_000 });
app.get('/healthz', async () => ({ status: 'ok', knownServers: nodeKeys.length }));
app.get('/next_server', async () =>
  nodeKeys.length === 0
    ? { error: { code: 503, message: 'No servers available' } }
    : { server_public_key: nodeKeys[Math.floor(Math.random() * nodeKeys.length)] },
);
app.post('/faucet', async (request, reply) => {
  const { server_public_key: node, client_public_key, chat_history, cipherkey, iv } = request.body as Record<string, string | undefined>;
  if (node === undefined || !nodes.has(node)) return reply.code(400).send({ error: { code: 400, message: 'Server not found' } });
  const item = { client_public_key, chat_history, cipherkey, iv };
  if (!wake(`s:${node}`, item)) {
    const queue = queues.get(node);
    if (queue === undefined) queues.set(node, [item]);
    else queue.push(item);
  }
  return { message: 'Request received' };
});
app.post('/sink', async (request, reply) => {
  const node = String((request.body as Body).server_public_key);
  if (!nodes.has(node)) {
    nodes.add(node);
    nodeKeys.push(node);
  }
  const item = queues.get(node)?.shift() ?? (HOLD_MS > 0 ? await hold(`s:${node}`, reply) : undefined);
  return { next_ping_in_x_seconds: 0, ...(item ?? {}) };
});
app.post('/source', async (request) => {
  const { chat_history, cipherkey, iv, client_public_key } = request.body as Body;
  const client = String(client_public_key);
  const item = { chat_history, cipherkey, iv };
  if (!wake(`r:${client}`, item)) {
    responses.delete(client);
    responses.set(client, item);
  }
  return { message: 'Response received and queued for client' };
});
app.post('/retrieve', async (request, reply) => {
  const client = String((request.body as Body).client_public_key);
  let item = responses.get(client);
  if (item !== undefined) responses.delete(client);
  else if (HOLD_MS > 0) item = await hold(`r:${client}`, reply);
  return item ?? { error: 'No response available for the given public key' };
});

await app.listen({ port: Number(process.env.REF_PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`listening ${String((app.server.address() as { port?: number } | null)?.port ?? '')}\n`);
process.on('SIGTERM', () => process.exit(0));
