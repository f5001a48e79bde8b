// The legacy relay routes, wire-compatible with the token.place peers of Dec 2025
// (protocol.md §A.3–A.4), quirks included: "no node" and "no response yet" are HTTP 200 with an
// `error`, error shapes differ per route, `next_ping_in_x_seconds` is on every /sink answer.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { RelayError } from '../../core/errors.js';
import { addressLimitKey } from '../../http/client-address.js';
import { clientGoneSignal } from '../../http/caller-gone.js';
import { markIdle } from '../../http/idle-answer.js';
import { chunkText } from './chunk.js';
import { serverTokenHook } from '../../http/server-token.js';
import { PLANS } from '../../limits/budgets.js';
import { maxBatchSize, pyTruthy, requireObject, requirePresent, stringField } from '../../http/validate.js';
import type { ClaimedRequest } from '../../store/types.js';

/** A node may ask for more, but gets at most this many requests per poll. */
const MAX_BATCH_CAP = 64;

const CLIENT_ROUTES = [
  { method: 'GET', url: '/next_server', name: 'next_server', rateLimit: PLANS.clientAnonymous },
  { method: 'POST', url: '/faucet', name: 'faucet', rateLimit: PLANS.clientSubmit },
  { method: 'POST', url: '/retrieve', name: 'retrieve', rateLimit: PLANS.clientPoll },
  { method: 'POST', url: '/stream/retrieve', name: 'stream_retrieve', rateLimit: PLANS.clientPoll },
] as const;
const NODE_ROUTES = [
  { method: 'POST', url: '/sink', name: 'sink', rateLimit: PLANS.nodeKeyed },
  { method: 'POST', url: '/source', name: 'source', rateLimit: PLANS.nodeUnkeyed },
  { method: 'POST', url: '/stream/source', name: 'stream_source', rateLimit: PLANS.nodeUnkeyed },
] as const;

function wireItem(item: ClaimedRequest): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    chat_history: item.chatHistory,
    cipherkey: item.cipherkey,
    client_public_key: item.clientKey,
    iv: item.iv,
    stream: item.stream,
  };
  if (item.streamSessionId !== undefined) wire.stream_session_id = item.streamSessionId;
  return wire;
}

export async function legacyRoutes(app: FastifyInstance): Promise<void> {
  const { config, legacy } = app.relay;
  const keyMax = config.maxKeyChars;
  const cipherMax = config.maxBodyBytes;

  if (!config.legacyRoutes) {
    // Same answer as the upstream relay when its legacy routes are off.
    for (const route of [...CLIENT_ROUTES, ...NODE_ROUTES]) {
      app.route({
        method: route.method,
        url: route.url,
        config: { name: route.name, rateLimit: route.rateLimit },
        handler: async () => {
          throw new RelayError('legacy_relay_endpoint_deprecated', { extra: { deprecated: true } });
        },
      });
    }
    return;
  }

  // Runs before the body is read, as upstream: an unauthorised node never costs a body parse.
  const requireServerToken = serverTokenHook(config.serverTokens);

  app.get('/next_server', { config: { name: 'next_server', errorStyle: 'object', rateLimit: PLANS.clientAnonymous } }, async () => {
    const key = await legacy.nextServer();
    if (key === null) return { error: { code: 503, message: 'No servers available' } };
    return { server_public_key: key };
  });

  app.post('/faucet', { config: { name: 'faucet', errorStyle: 'object', rateLimit: PLANS.clientSubmit } }, async (request) => {
    const body = requireObject(request.body);
    requirePresent(body, ['server_public_key', 'chat_history', 'cipherkey', 'iv']);
    const stream = pyTruthy(body.stream);
    // relay.py let client_public_key be absent; nothing could ever be answered then, and the
    // Dec 2025 node drops the whole poll on a null key, so it is required here.
    if (body.client_public_key === undefined || body.client_public_key === null || body.client_public_key === '') {
      throw new RelayError(stream ? 'streaming_requires_client_key' : 'invalid_request', { field: 'client_public_key' });
    }
    const serverKey = stringField(body, 'server_public_key', keyMax);
    const request_ = {
      clientKey: stringField(body, 'client_public_key', keyMax),
      chatHistory: stringField(body, 'chat_history', cipherMax),
      cipherkey: stringField(body, 'cipherkey', cipherMax),
      iv: stringField(body, 'iv', cipherMax),
      stream,
    };
    await legacy.faucet(serverKey, request_, addressLimitKey(request.clientAddress));
    return { message: 'Request received' };
  });

  app.post('/retrieve', { config: { name: 'retrieve', errorStyle: 'string', rateLimit: PLANS.clientPoll } }, async (request, reply: FastifyReply) => {
    const body = requireObject(request.body);
    requirePresent(body, ['client_public_key']);
    const clientKey = stringField(body, 'client_public_key', keyMax);
    const found = await legacy.retrieve(clientKey, clientGoneSignal(reply));
    if (found === null) {
      markIdle(reply);
      return { error: 'No response available for the given public key' };
    }
    return { chat_history: found.chatHistory, cipherkey: found.cipherkey, iv: found.iv };
  });

  app.post('/stream/retrieve', { config: { name: 'stream_retrieve', errorStyle: 'string', rateLimit: PLANS.clientPoll } }, async (request, reply) => {
    const body = requireObject(request.body);
    requirePresent(body, ['client_public_key']);
    const batch = await legacy.streamRetrieve(stringField(body, 'client_public_key', keyMax));
    if (batch === null) return { error: 'No active stream for the given public key' };
    if (batch.chunks.length === 0 && !batch.final) markIdle(reply);
    // Chunks are stored as JSON text (bounded at the door) and sent back verbatim.
    const head = `{"stream":true,"session_id":${JSON.stringify(batch.sessionId)},"chunks":[${batch.chunks.join(',')}]`;
    return reply.type('application/json; charset=utf-8').send(batch.final ? `${head},"final":true}` : `${head}}`);
  });

  app.post('/sink', { config: { name: 'sink', errorStyle: 'string', rateLimit: PLANS.nodeKeyed }, ...requireServerToken }, async (request, reply) => {
    const body = requireObject(request.body);
    const batchSize = maxBatchSize(body.max_batch_size, MAX_BATCH_CAP);
    if (body.server_public_key === undefined || body.server_public_key === null) throw new RelayError('invalid_public_key', { field: 'server_public_key' });
    const nodeKey = stringField(body, 'server_public_key', keyMax, 'invalid_public_key');
    const { items, nextPingSeconds } = await legacy.sink(nodeKey, batchSize, clientGoneSignal(reply), addressLimitKey(request.clientAddress));
    const answer: Record<string, unknown> = { next_ping_in_x_seconds: nextPingSeconds };
    const [first] = items;
    if (first === undefined) markIdle(reply);
    else {
      Object.assign(answer, {
        client_public_key: first.clientKey,
        chat_history: first.chatHistory,
        cipherkey: first.cipherkey,
        iv: first.iv,
      });
      if (first.streamSessionId !== undefined) Object.assign(answer, { stream: true, stream_session_id: first.streamSessionId });
    }
    // relay.py adds `batch` whenever more than one was asked for, even if one was popped.
    if (batchSize > 1) {
      answer.batch = items.map(wireItem);
    }
    return answer;
  });

  app.post('/source', { config: { name: 'source', errorStyle: 'string', rateLimit: PLANS.nodeUnkeyed }, ...requireServerToken }, async (request) => {
    const body = requireObject(request.body);
    requirePresent(body, ['client_public_key', 'chat_history', 'cipherkey', 'iv']);
    const clientKey = stringField(body, 'client_public_key', keyMax);
    await legacy.source(
      clientKey,
      {
        chatHistory: stringField(body, 'chat_history', cipherMax),
        cipherkey: stringField(body, 'cipherkey', cipherMax),
        iv: stringField(body, 'iv', cipherMax),
      },
      addressLimitKey(request.clientAddress),
    );
    return { message: 'Response received and queued for client' };
  });

  app.post(
    '/stream/source',
    { config: { name: 'stream_source', errorStyle: 'string', rateLimit: PLANS.nodeUnkeyed }, ...requireServerToken },
    async (request) => {
      const body = requireObject(request.body);
      requirePresent(body, ['session_id', 'chunk']);
      const sessionId = stringField(body, 'session_id', 128);
      const final = pyTruthy(body.final);
      const chunk = chunkText(body.chunk, config);
      await legacy.streamSource(sessionId, chunk, final, addressLimitKey(request.clientAddress));
      return { message: 'Chunk stored', final };
    },
  );
}
