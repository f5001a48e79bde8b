// The API v1 relay routes (protocol.md §E.2–E.3), for token.place compute nodes, clients and the
// browser page of Aug 2026. Thin: parse the body, call src/protocols/v1/relay.ts, shape the answer.
// Errors are JSON `{error: {code, message, ...}}` with status 400/401/403/404/409/410/503.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addressLimitKey } from '../../http/client-address.js';
import { clientGoneSignal } from '../../http/caller-gone.js';
import { markIdle } from '../../http/idle-answer.js';
import { serverTokenHook } from '../../http/server-token.js';
import { requireObject } from '../../http/validate.js';
import { PLANS } from '../../limits/budgets.js';
import { releaseMetadata } from './meta.js';
import { modelRoutes } from './models.js';
import { API_V1_PROTOCOL, API_V1_VERSION, type AnswerWire, type DeadlineWire, type IdlePollWire, type PendingWire, type WorkItemWire } from './wire.js';
import { SELECTION_POLICY } from './selection.js';
import { RelayError } from '../../core/errors.js';
import { admissionBody, optionalRequestId, progressBody, publicKey, queryParam, requestId, responseBody, secret, type FieldLimits } from './body.js';

const P = '/api/v1/relay';

/** Every URL that unregisters a compute node (the API v1 one, then upstream's aliases). */
const UNREGISTER_ALIASES = ['/api/v1/relay/unregister', '/api/v2/relay/unregister', '/v1/relay/unregister', '/v2/relay/unregister'] as const;

function deadlineFields(seconds: number | null): DeadlineWire {
  return seconds === null ? {} : { request_deadline_remaining_seconds: seconds, request_ttl_seconds: seconds };
}

/** The source a request's state is charged to (what the rate limits key on). */
function sourceOf(request: FastifyRequest): string {
  return addressLimitKey(request.clientAddress);
}

export async function v1Routes(app: FastifyInstance): Promise<void> {
  const { config, v1 } = app.relay;
  const limits: FieldLimits = { keyChars: config.maxKeyChars, cipherChars: config.maxBodyBytes };
  // Compute-node routes: the registration token is checked before the body is read.
  const nodeAuth = serverTokenHook(config.serverTokens);

  // ---------------------------------------------------------------- compute nodes

  app.post(`${P}/servers/register`, { config: { name: 'v1_servers_register', rateLimit: PLANS.nodeKeyed }, ...nodeAuth }, async (request) => {
    const body = requireObject(request.body);
    const nodeKey = publicKey(body, 'server_public_key', limits);
    // A node that presents its credential on re-register binds itself to it (sticky).
    const result = await v1.register(
      nodeKey,
      body.capabilities,
      { credential: secret(body, 'control_credential'), source: sourceOf(request) },
      body.node_label,
    );
    const answer: Record<string, unknown> = {
      next_ping_in_x_seconds: result.leaseSeconds,
      poll_wait_seconds: result.pollWaitSeconds,
      relay_capabilities: { encrypted_progress_v1: true },
    };
    if (result.credential !== null) answer.control_credential = result.credential;
    return answer;
  });

  app.post(`${P}/servers/poll`, { config: { name: 'v1_servers_poll', rateLimit: PLANS.nodeKeyed }, ...nodeAuth }, async (request, reply) => {
    const body = requireObject(request.body);
    const nodeKey = publicKey(body, 'server_public_key', limits);
    const { work, nextPingSeconds, pollWaitSeconds } = await v1.poll(
      nodeKey,
      body.capabilities,
      clientGoneSignal(reply),
      { credential: secret(body, 'control_credential'), source: sourceOf(request) },
      body.node_label,
    );
    if (work === null) {
      markIdle(reply);
      return { message: 'No requests available', next_ping_in_x_seconds: nextPingSeconds, poll_wait_seconds: pollWaitSeconds } satisfies IdlePollWire;
    }
    // The work item: the client's envelope (never its cancel token), its deadline, and "poll
    // again now" so the node does not sleep a lease after every job.
    return {
      protocol: API_V1_PROTOCOL,
      version: API_V1_VERSION,
      request_id: work.requestId,
      client_public_key: work.clientKey,
      chat_history: work.ciphertext,
      ciphertext: work.ciphertext,
      cipherkey: work.cipherkey,
      iv: work.iv,
      ...deadlineFields(work.deadlineRemainingSeconds),
      next_ping_in_x_seconds: nextPingSeconds,
      poll_wait_seconds: pollWaitSeconds,
    } satisfies WorkItemWire;
  });

  app.post(`${P}/servers/control`, { config: { name: 'v1_servers_control', rateLimit: PLANS.nodeKeyed }, ...nodeAuth }, async (request) => {
    const body = requireObject(request.body);
    const nodeKey = publicKey(body, 'server_public_key', limits);
    const id = requestId(body);
    const result = await v1.control(nodeKey, id, secret(body, 'control_credential'), body.acknowledge === true || body.ack === true);
    return { status: result.status, next_poll_seconds: result.nextPollSeconds, ...deadlineFields(result.deadlineRemainingSeconds) };
  });

  app.post(`${P}/responses`, { config: { name: 'v1_responses', rateLimit: PLANS.nodeUnkeyed }, ...nodeAuth }, async (request) => {
    const { clientKey, requestId: id, response, nodeKey, credential } = responseBody(request.body, limits);
    const { duplicate } = await v1.respond(clientKey, id, response, { nodeKey, credential, source: sourceOf(request) });
    return { message: duplicate ? 'Response already queued for client' : 'Response received and queued for client' };
  });

  app.post(`${P}/progress`, { config: { name: 'v1_progress', rateLimit: PLANS.nodeKeyed }, ...nodeAuth }, async (request, reply) => {
    const { nodeKey, clientKey, requestId: id, credential, record } = progressBody(request.body, limits);
    await v1.progress(nodeKey, credential, clientKey, id, record, sourceOf(request));
    return reply.code(202).send({ message: 'Encrypted progress accepted' });
  });

  const unregister = (name: string, errorStyle?: 'string') =>
    ({
      config: { name, errorStyle, rateLimit: PLANS.nodeKeyed },
      ...nodeAuth,
      handler: async (request: FastifyRequest) => {
        const body = requireObject(request.body);
        const nodeKey = publicKey(body, 'server_public_key', limits);
        const { removed } = await v1.unregister(nodeKey, secret(body, 'control_credential'), sourceOf(request));
        return { message: 'Server unregistered', removed };
      },
    }) as const;
  app.post(`${P}/servers/unregister`, unregister('v1_servers_unregister'));
  // relay.py's legacy alias answers malformed bodies with plain-string errors.
  app.post('/unregister', unregister('unregister', 'string'));
  for (const url of UNREGISTER_ALIASES) app.post(url, unregister('v1_unregister_alias'));

  // ---------------------------------------------------------------- clients

  app.get(`${P}/servers/next`, { config: { name: 'v1_servers_next', rateLimit: PLANS.clientAnonymous, cors: true } }, async (request, reply) => {
    const model = queryParam(request.query, 'model', 128);
    const tier = queryParam(request.query, 'context_tier', 32);
    const next = await v1.next(model, tier);
    reply.header('cache-control', 'no-store');
    return {
      server_public_key: next.nodeKey,
      requested_context_tier: next.requestedContextTier,
      requested_model: next.requestedModel,
      resolved_model: next.resolvedModel,
      selected_context_tier: next.capabilities.contextTier,
      selected_context_window_tokens: next.capabilities.maxContextTokens,
      selected_model_support: [...next.capabilities.supportedModelIds],
      selection_policy: SELECTION_POLICY,
      eligible_node_count: next.eligibleCount,
      eligible_tier_counts: next.eligibleTierCounts,
      selected_queue_depth: next.load.queueDepth,
      selected_in_flight_count: next.load.inflight,
      selected_load_score: next.load.loadScore,
      spillover: next.spillover,
      ...(next.spillover ? { spillover_reason: 'no_smaller_eligible_node_available' } : {}),
    };
  });

  app.post(`${P}/requests`, { config: { name: 'v1_requests', rateLimit: PLANS.clientSubmit, cors: true } }, async (request) => {
    const input = admissionBody(request.body, limits);
    const { deadlineRemainingSeconds } = await v1.admit(input, sourceOf(request));
    return { message: 'Request received', ...deadlineFields(deadlineRemainingSeconds) };
  });

  app.post(`${P}/requests/cancel`, { config: { name: 'v1_requests_cancel', rateLimit: PLANS.clientPoll, cors: true } }, async (request) => {
    const body = requireObject(request.body);
    const clientKey = publicKey(body, 'client_public_key', limits);
    const id = requestId(body);
    const result = await v1.cancel(clientKey, id, secret(body, 'cancel_token'), body.status, body.reason);
    return { status: result.status, request_id: id, removed_from_queue: result.removedFromQueue };
  });

  app.post(`${P}/responses/retrieve`, { config: { name: 'v1_responses_retrieve', rateLimit: PLANS.clientPoll, cors: true } }, async (request, reply) => {
    const body = requireObject(request.body);
    const clientKey = publicKey(body, 'client_public_key', limits);
    const id = optionalRequestId(body);
    // `ack: true`: the client holds the answer; it is handed out once more and the request ends,
    // the answer still fetchable by id for v1AckReplay (that reply may be lost). Without ack an
    // answer stays fetchable until v1ResponseTtl (upstream clients never ack).
    const result = await v1.retrieve(clientKey, id, clientGoneSignal(reply), body.ack === true || body.acknowledge === true);
    if (result.kind === 'pending') {
      const answer: PendingWire = { status: 'pending', ...deadlineFields(result.deadlineRemainingSeconds) };
      if (result.progress === null) markIdle(reply);
      else {
        answer.encrypted_progress = { client_public_key: clientKey, request_id: id, protocol: API_V1_PROTOCOL, version: API_V1_VERSION, ...result.progress };
      }
      return reply.code(202).send(answer);
    }
    const r = result.response;
    return {
      client_public_key: r.clientKey,
      request_id: r.requestId,
      protocol: API_V1_PROTOCOL,
      version: API_V1_VERSION,
      chat_history: r.ciphertext,
      ciphertext: r.ciphertext,
      cipherkey: r.cipherkey,
      iv: r.iv,
    } satisfies AnswerWire;
  });

  // ---------------------------------------------------------------- models and release metadata

  await modelRoutes(app);

  const meta = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    return releaseMetadata(config, request.headers.host);
  };
  app.get('/api/v1/meta', { config: { name: 'v1_meta', quiet: true, rateLimit: PLANS.clientAnonymous } }, meta);
  app.get('/api/v1/version', { config: { name: 'v1_version', quiet: true, rateLimit: PLANS.clientAnonymous } }, meta);

  // Relay-dispatched plaintext API v1 routes exist upstream only to fail closed.
  for (const url of ['/relay/api/v1/chat/completions', '/relay/api/v1/source']) {
    app.post(url, { config: { name: 'v1_plaintext_disabled', rateLimit: PLANS.clientAnonymous } }, async () => {
      throw new RelayError('distributed_api_v1_relay_disabled', { extra: { type: 'service_unavailable_error' } });
    });
  }
}
