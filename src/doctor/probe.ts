// The end-to-end check: the doctor registers a private API v1 compute node whose only model id
// is random (no real client ever asks for it, so no real request is routed to it), then plays
// the client: picks a node for that model, sends an encrypted request, and the probe node claims
// it, decrypts it, answers encrypted; the client retrieves and decrypts the answer and compares
// it with what it asked for. The probe node is unregistered at the end, also after a failure.
// Both ends run in this process on one clock, so the timings need no clock agreement.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decryptJson, encryptJson, generateKeyPair, type HybridCiphertext, type KeyPair } from '../crypto/index.js';
import { keyFingerprint } from '../core/fingerprint.js';
import { describeFailure, refusalCode, type DoctorHttp, type HttpAnswer } from './http.js';
import { fail, ok, warn, type CheckResult } from './types.js';

import { API_V1_PROTOCOL as PROTOCOL } from '../protocols/v1/wire.js';
const R = '/api/v1/relay';
export const PROBE_MODEL_PREFIX = 'tokenplace-doctor-probe-';

export interface ProbeOptions {
  http: DoctorHttp;
  token?: string;
  /** The whole round trip (pick, submit, claim, answer, retrieve) must finish within this. */
  timeoutMs: number;
  /** Key pairs made beforehand, so that key generation does not let warm connections go idle. */
  keys?: Promise<ProbeKeys>;
}

export interface ProbeKeys {
  node: KeyPair;
  client: KeyPair;
}

export async function probeKeys(): Promise<ProbeKeys> {
  const [node, client] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  return { node, client };
}

export interface ProbeTimings {
  /** Submit sent → decrypted answer compared (the client's view of one request). */
  roundTripMs: number;
  /** Submit sent → the probe node holds the work item. */
  pickupMs: number;
  /** The probe node's answer sent → the client holds it. */
  deliveryMs: number;
  /** Encryption and decryption done by the doctor itself (both ends). */
  cryptoMs: number;
}

export interface ProbeResult {
  roundTrip: CheckResult;
  cleanup: CheckResult;
  timings: ProbeTimings | null;
}

class ProbeError extends Error {
  constructor(
    message: string,
    readonly verdict: 'fail' | 'warn' = 'fail',
  ) {
    super(message);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function refused(route: string, answer: HttpAnswer): string {
  const code = refusalCode(answer.json);
  return `${route} answered HTTP ${answer.status}${code ? ` ${code}` : ''}`;
}

function capabilities(modelId: string): Record<string, unknown> {
  return {
    api_version: 'v1',
    supported_model_ids: [modelId],
    active_context_tier: '8k-fast',
    maximum_total_context_tokens: 8192,
    default_output_token_reservation: 256,
    maximum_output_tokens: 256,
    max_concurrency: 1,
    backend_class: 'cpu',
  };
}

function cipherOf(body: Record<string, unknown>): HybridCiphertext | null {
  const ct = typeof body.chat_history === 'string' ? body.chat_history : body.ciphertext;
  if (typeof ct !== 'string' || typeof body.cipherkey !== 'string' || typeof body.iv !== 'string') return null;
  return { ciphertext: ct, cipherkey: body.cipherkey, iv: body.iv };
}

export async function runProbe(opts: ProbeOptions): Promise<ProbeResult> {
  const { http, token } = opts;
  const deadline = performance.now() + opts.timeoutMs;
  const left = (): number => Math.max(1, deadline - performance.now());
  const modelId = `${PROBE_MODEL_PREFIX}${randomBytes(8).toString('hex')}`;
  const { node, client } = await (opts.keys ?? probeKeys());
  const fingerprint = keyFingerprint(node.publicKeyWire);
  const stop = new AbortController();
  let credential: string | undefined;
  let timings: ProbeTimings | null = null;
  let roundTrip: CheckResult;
  try {
    credential = await register(http, node, modelId, token, left());
    timings = await roundTripThrough(http, { node, client, credential, modelId, token, left, stop: stop.signal });
    roundTrip = ok('round trip', `encrypted request answered in ${Math.round(timings.roundTripMs)} ms through probe node ${fingerprint} (model ${modelId})`, {
      ...timings,
      probe_node: fingerprint,
      model: modelId,
    });
  } catch (err) {
    stop.abort();
    const message = err instanceof ProbeError ? err.message : describeFailure(err);
    roundTrip =
      err instanceof ProbeError && err.verdict === 'warn'
        ? warn('round trip', message)
        : fail('round trip', message, { probe_node: fingerprint, model: modelId });
  }
  const cleanup =
    credential === undefined ? ok('probe cleanup', 'no probe node was registered') : await unregister(http, node, credential, modelId, token, opts.timeoutMs);
  return { roundTrip, cleanup, timings };
}

async function register(http: DoctorHttp, node: KeyPair, modelId: string, token: string | undefined, timeoutMs: number): Promise<string> {
  const route = `${R}/servers/register`;
  const answer = await http.post(route, { server_public_key: node.publicKeyWire, capabilities: capabilities(modelId) }, { token, timeoutMs });
  if (answer.status === 401 && token === undefined) {
    throw new ProbeError('not checked: the relay requires a node token (401); pass --token or set TOKEN_PLACE_RELAY_SERVER_TOKEN', 'warn');
  }
  if (answer.status === 401) throw new ProbeError('the relay refused the node token given with --token (401 invalid_server_token)');
  if (answer.status !== 200 || !isObject(answer.json)) throw new ProbeError(`registering the probe node: ${refused(route, answer)}`);
  const credential = answer.json.control_credential;
  if (typeof credential !== 'string' || credential === '')
    throw new ProbeError('the relay registered the probe node without a control_credential (cannot unregister it safely)');
  return credential;
}

interface TripContext {
  node: KeyPair;
  client: KeyPair;
  credential: string;
  modelId: string;
  token: string | undefined;
  left: () => number;
  stop: AbortSignal;
}

async function roundTripThrough(http: DoctorHttp, c: TripContext): Promise<ProbeTimings> {
  // 1. Routing: the relay must pick the probe node for the probe model, and nothing else.
  const nextRoute = `${R}/servers/next?model=${encodeURIComponent(c.modelId)}`;
  const next = await http.get(nextRoute, { timeoutMs: c.left() });
  if (next.status !== 200 || !isObject(next.json)) throw new ProbeError(`picking a node: ${refused(`${R}/servers/next`, next)}`);
  if (next.json.server_public_key !== c.node.publicKeyWire) throw new ProbeError('the relay routed the probe model to another node than the probe');

  const requestId = `doctor-${randomBytes(12).toString('hex')}`;
  const nonce = randomBytes(16).toString('hex');
  const question = `tokenplace doctor probe ${nonce}`;
  const expected = `echo: ${question}`;
  let cryptoMs = 0;
  const timed = <T>(fn: () => T): T => {
    const t = performance.now();
    try {
      return fn();
    } finally {
      cryptoMs += performance.now() - t;
    }
  };

  // 2. The probe node's side: poll until the work item comes, answer it encrypted.
  const marks = { claimed: 0, answerSent: 0 };
  const nodeSide = async (): Promise<void> => {
    const poll = { server_public_key: c.node.publicKeyWire, capabilities: capabilities(c.modelId), control_credential: c.credential };
    for (;;) {
      const answer = await http.post(`${R}/servers/poll`, poll, { token: c.token, timeoutMs: c.left(), signal: c.stop });
      if (answer.status !== 200 || !isObject(answer.json)) throw new ProbeError(`probe node polling: ${refused(`${R}/servers/poll`, answer)}`);
      const work = answer.json;
      if (work.protocol !== PROTOCOL) {
        // An immediate "no work" (poll holds off) must not spin.
        if (answer.ms < 100) await sleep(Math.min(100, c.left()), undefined, { signal: c.stop });
        continue;
      }
      marks.claimed = performance.now();
      if (work.request_id !== requestId) throw new ProbeError('the probe node received a request it did not expect (another client used the probe model?)');
      const cipher = cipherOf(work);
      if (cipher === null) throw new ProbeError('the work item handed to the probe node lacks its ciphertext fields');
      let envelope: unknown;
      try {
        envelope = timed(() => decryptJson(cipher, c.node.privateKeyPem));
      } catch {
        throw new ProbeError('the probe node could not decrypt the work item (the relay altered the ciphertext?)');
      }
      const req = isObject(envelope) && isObject(envelope.api_v1_request) ? envelope.api_v1_request : null;
      const messages = req !== null && Array.isArray(req.messages) ? req.messages : [];
      const last = messages.at(-1) as { content?: unknown } | undefined;
      if (!isObject(envelope) || envelope.request_id !== requestId || envelope.client_public_key !== c.client.publicKeyWire || last?.content !== question) {
        throw new ProbeError('the decrypted work item is not the request the client sent');
      }
      const reply = timed(() =>
        encryptJson(
          {
            protocol: PROTOCOL,
            version: 1,
            request_id: requestId,
            client_public_key: c.client.publicKeyWire,
            api_v1_response: { message: { role: 'assistant', content: expected }, finish_reason: 'stop' },
          },
          c.client.publicKeyWire,
        ),
      );
      marks.answerSent = performance.now();
      const sent = await http.post(
        `${R}/responses`,
        {
          server_public_key: c.node.publicKeyWire,
          control_credential: c.credential,
          client_public_key: c.client.publicKeyWire,
          request_id: requestId,
          protocol: PROTOCOL,
          version: 1,
          chat_history: reply.ciphertext,
          cipherkey: reply.cipherkey,
          iv: reply.iv,
        },
        { token: c.token, timeoutMs: c.left(), signal: c.stop },
      );
      if (sent.status !== 200) throw new ProbeError(`probe node answering: ${refused(`${R}/responses`, sent)}`);
      return;
    }
  };

  // 3. The client's side: send the request encrypted to the probe node, wait for the answer.
  const clientSide = async (): Promise<{ started: number; received: number; done: number }> => {
    const envelope = {
      protocol: PROTOCOL,
      version: 1,
      request_id: requestId,
      client_public_key: c.client.publicKeyWire,
      api_v1_request: { model: c.modelId, messages: [{ role: 'user', content: question }], options: {} },
    };
    const started = performance.now();
    const enc = timed(() => encryptJson(envelope, c.node.publicKeyWire));
    const submit = await http.post(
      `${R}/requests`,
      {
        server_public_key: c.node.publicKeyWire,
        client_public_key: c.client.publicKeyWire,
        request_id: requestId,
        protocol: PROTOCOL,
        version: 1,
        cancel_token: randomBytes(16).toString('hex'),
        chat_history: enc.ciphertext,
        cipherkey: enc.cipherkey,
        iv: enc.iv,
      },
      { timeoutMs: c.left(), signal: c.stop },
    );
    if (submit.status !== 200) throw new ProbeError(`sending the request: ${refused(`${R}/requests`, submit)}`);
    let waitMs = 20;
    for (;;) {
      const got = await http.post(
        `${R}/responses/retrieve`,
        { client_public_key: c.client.publicKeyWire, request_id: requestId, ack: true },
        { timeoutMs: c.left(), signal: c.stop },
      );
      if (got.status === 202) {
        // A relay that holds retrieves answers 202 only after its hold; one that does not is
        // asked again with a growing pause.
        if (got.ms < 100) await sleep(Math.min(waitMs, c.left()), undefined, { signal: c.stop });
        waitMs = Math.min(waitMs * 2, 500);
        continue;
      }
      if (got.status !== 200 || !isObject(got.json)) throw new ProbeError(`retrieving the answer: ${refused(`${R}/responses/retrieve`, got)}`);
      const received = performance.now();
      const cipher = cipherOf(got.json);
      if (cipher === null) throw new ProbeError('the answer handed to the client lacks its ciphertext fields');
      let answer: unknown;
      try {
        answer = timed(() => decryptJson(cipher, c.client.privateKeyPem));
      } catch {
        throw new ProbeError('the client could not decrypt the answer (the relay altered the ciphertext?)');
      }
      const resp = isObject(answer) && isObject(answer.api_v1_response) ? answer.api_v1_response : null;
      const message = resp !== null && isObject(resp.message) ? resp.message : null;
      if (!isObject(answer) || answer.request_id !== requestId || message?.content !== expected) {
        throw new ProbeError('the decrypted answer is not the one the probe node sent');
      }
      return { started, received, done: performance.now() };
    }
  };

  const timeUp = new AbortController();
  const deadline = sleep(c.left(), undefined, { signal: AbortSignal.any([c.stop, timeUp.signal]), ref: false }).then(
    () => {
      throw new ProbeError(
        `no complete round trip within the timeout (${marks.claimed === 0 ? 'the probe node never received the request' : 'the client never received the answer'})`,
      );
    },
    () => new Promise<never>(() => {}),
  );
  const both = Promise.all([clientSide(), nodeSide()]);
  let client: Awaited<ReturnType<typeof clientSide>>;
  try {
    [client] = await Promise.race([both, deadline]);
  } finally {
    timeUp.abort();
  }
  return {
    roundTripMs: client.done - client.started,
    pickupMs: marks.claimed - client.started,
    deliveryMs: client.received - marks.answerSent,
    cryptoMs,
  };
}

async function unregister(
  http: DoctorHttp,
  node: KeyPair,
  credential: string,
  modelId: string,
  token: string | undefined,
  timeoutMs: number,
): Promise<CheckResult> {
  const route = `${R}/servers/unregister`;
  try {
    const answer = await http.post(route, { server_public_key: node.publicKeyWire, control_credential: credential }, { token, timeoutMs });
    if (answer.status !== 200 || !isObject(answer.json)) return warn('probe cleanup', `${refused(route, answer)}; the probe node's lease runs out by itself`);
    // Confirm from the client's side: no node serves the probe model any more.
    const next = await http.get(`${R}/servers/next?model=${encodeURIComponent(modelId)}`, { timeoutMs });
    if (next.status === 200) return warn('probe cleanup', 'unregistered, but the relay still routes the probe model to a node');
    return ok('probe cleanup', `probe node unregistered (removed: ${String(answer.json.removed)}); probe model no longer routed`, {
      removed: answer.json.removed,
    });
  } catch (err) {
    return warn('probe cleanup', `could not unregister the probe node (${describeFailure(err)}); its lease runs out by itself`);
  }
}
