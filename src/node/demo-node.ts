// A real token.place compute node with a built-in deterministic model stand-in.
//
// It talks to a relay over HTTP the way the upstream node (server.py) does:
//  * legacy: POST /sink {server_public_key} (+ X-Relay-Server-Token), honour
//    next_ping_in_x_seconds, answer with POST /source, or in chunks with POST /stream/source
//    when the work item carries a stream_session_id;
//  * API v1: register a lease, long-poll /servers/poll, check /servers/control before
//    answering, POST /responses, unregister on stop. It advertises two end-to-end extensions
//    (README "Signed answers and streaming"): it signs its answers with its key
//    (answer_signing) and, for a client that asks, streams the text as it is generated as
//    encrypted snapshot records over the progress channel (streaming: snapshots-v1).
// Requests and answers are end-to-end encrypted (src/crypto); the relay only carries
// ciphertext. Log lines never contain payloads or keys (only a short key fingerprint).
// Bad relay answers are logged and retried with exponential backoff and jitter; after a relay
// restart the node registers again by itself.
import { setTimeout as sleepTimer } from 'node:timers/promises';
import pino from 'pino';
import {
  decryptJson,
  encryptJson,
  generateKeyPair,
  importPublicKey,
  signText,
  SnapshotPacer,
  snapshotEnvelope,
  STREAM_FORMAT,
  StreamEncryptor,
  type KeyPair,
  type SigningScheme,
} from '../crypto/index.js';
import { keyFingerprint } from '../core/fingerprint.js';
import { Backoff } from './backoff.js';
import { DEMO_MODEL_ID, demoReply, demoReplyChunks, isChatHistory, type ChatMessage } from './model.js';
import { errorCode, postJson, relayOrigin, relayRoute, RelayUnreachableError, StoppedError, type RelayAnswer } from './relay-http.js';

export { API_V1_PROTOCOL } from '../protocols/v1/wire.js';
import { API_V1_PROTOCOL } from '../protocols/v1/wire.js';

export interface DemoNodeOptions {
  relayUrl: string;
  token?: string;
  protocol: 'legacy' | 'v1';
  logger?: pino.Logger;
  name?: string;
  /** API v1: work this long on each request before answering, sending encrypted progress records meanwhile (about 4 a second). */
  thinkMs?: number;
  /** API v1: the model ids it registers for (default DEMO_SUPPORTED_MODEL_IDS). */
  modelIds?: readonly string[];
  /** API v1 test hook: the answer (and its finish reason) instead of the demo model's. */
  reply?: (messages: ChatMessage[]) => { content: string; finishReason?: string };
  /** API v1: sign answers and snapshots with the node key and advertise it (default true). */
  signAnswers?: boolean;
  /** API v1: advertise streaming and stream to clients that ask (default true). */
  stream?: boolean;
  /** API v1: time to "generate" each token (a word and its spacing); 0 (default) answers at once, without streaming. */
  tokenDelayMs?: number;
  /** API v1: at most one streamed record per this many ms (default 100). */
  snapshotIntervalMs?: number;
}

/** The signing scheme the demo node uses. */
export const DEMO_SIGNING_SCHEME: SigningScheme = 'rsa-pss-sha256';
const DEFAULT_SNAPSHOT_INTERVAL_MS = 100;
/** Plain progress records (for clients that did not ask for the text) while generating. */
const PROGRESS_INTERVAL_MS = 250;

export interface DemoNode {
  /** Wire form of the node's public key (base64 of PEM). */
  publicKey: string;
  /** Resolves once the relay has accepted the node for the first time. */
  ready: Promise<void>;
  /** How many requests this node has answered. */
  readonly answered: number;
  /** Streamed snapshot records posted, and the bytes of their request bodies. */
  readonly streamed: { records: number; bytes: number };
  stop(): Promise<void>;
}

/** Models the demo node offers to API v1 relays: its own id and the relay's default model id. */
export const DEMO_SUPPORTED_MODEL_IDS = [DEMO_MODEL_ID, 'qwen3-8b-instruct'];

export const DEMO_CAPABILITIES = {
  api_version: 'v1',
  supported_model_ids: DEMO_SUPPORTED_MODEL_IDS,
  active_context_tier: '8k-fast',
  maximum_total_context_tokens: 8192,
  default_output_token_reservation: 1024,
  maximum_output_tokens: 2048,
  max_concurrency: 1,
  backend_class: 'cpu',
} as const;

const HTTP_TIMEOUT_MS = 10_000;
const MAX_LEGACY_PING_S = 60;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function finiteNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export async function startDemoNode(opts: DemoNodeOptions): Promise<DemoNode> {
  let relayUrl: URL;
  try {
    relayUrl = new URL(opts.relayUrl);
  } catch {
    throw new Error(`relay URL is not a URL: ${opts.relayUrl}`);
  }
  if (relayUrl.protocol !== 'http:' && relayUrl.protocol !== 'https:') throw new Error('relay URL must be http(s)');
  const keys = await generateKeyPair();
  const node = new DemoNodeRunner(opts, keys);
  node.start();
  return {
    publicKey: keys.publicKeyWire,
    ready: node.ready,
    get answered() {
      return node.answered;
    },
    get streamed() {
      return { ...node.streamed };
    },
    stop: () => node.stop(),
  };
}

class DemoNodeRunner {
  readonly ready: Promise<void>;
  answered = 0;
  readonly streamed = { records: 0, bytes: 0 };
  private markReady!: () => void;
  private readonly abort = new AbortController();
  private readonly log: pino.Logger;
  private readonly relay: string;
  private readonly backoff = new Backoff();
  private loop: Promise<void> = Promise.resolve();
  // API v1 registration state
  private registered = false;
  private registeredAt = 0;
  private leaseS = 30;
  private pollWaitS = 10;
  private controlCredential: string | undefined;
  private unknownInARow = 0;
  /** The capabilities before the end-to-end extensions: the models it registers for. */
  private readonly baseCapabilities: Record<string, unknown>;

  constructor(
    private readonly opts: DemoNodeOptions,
    private readonly keys: KeyPair,
  ) {
    this.relay = opts.relayUrl.replace(/\/+$/, '');
    this.baseCapabilities = opts.modelIds === undefined ? DEMO_CAPABILITIES : { ...DEMO_CAPABILITIES, supported_model_ids: [...opts.modelIds] };
    this.log = (opts.logger ?? pino({ name: 'tokenplace-demo-node' })).child({
      component: 'demo-node',
      node: opts.name ?? 'demo',
      protocol: opts.protocol,
      relay: relayOrigin(opts.relayUrl),
      key_fingerprint: keyFingerprint(keys.publicKeyWire),
    });
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
  }

  start(): void {
    this.log.info({ event: 'node.start' }, 'demo compute node starting');
    this.loop = (this.opts.protocol === 'v1' ? this.runV1() : this.runLegacy()).catch((err: unknown) => {
      if (!(err instanceof StoppedError)) this.log.error({ event: 'node.loop_crashed', err_name: (err as Error)?.name }, 'node loop ended unexpectedly');
    });
  }

  async stop(): Promise<void> {
    if (this.abort.signal.aborted) return this.loop;
    this.abort.abort();
    await this.loop;
    if (this.opts.protocol === 'v1' && this.registered) await this.unregister();
    this.log.info({ event: 'node.stopped', answered: this.answered }, 'demo compute node stopped');
  }

  private get stopSignal(): AbortSignal {
    return this.abort.signal;
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await sleepTimer(ms, undefined, { signal: this.stopSignal });
    } catch {
      throw new StoppedError('stopped');
    }
  }

  private post(route: string, body: unknown, timeoutMs = HTTP_TIMEOUT_MS): Promise<RelayAnswer> {
    return postJson(relayRoute(this.relay, route), body, { token: this.opts.token, timeoutMs, stop: this.stopSignal });
  }

  /** Logs a failure and waits out the backoff. */
  private async failAndWait(event: string, fields: Record<string, unknown>, msg: string): Promise<void> {
    const delay = this.backoff.next();
    this.log.warn({ event, ...fields, attempt: this.backoff.attempts, retry_in_ms: delay }, msg);
    await this.sleep(delay);
  }

  private async unreachable(err: RelayUnreachableError, route: string): Promise<void> {
    await this.failAndWait('relay.unreachable', { route, code: err.code }, `relay not reachable (${err.code}); retrying`);
  }

  private httpFailureMessage(status: number, route = ''): string {
    if (status === 410 && route === '/api/v1/relay/responses') return 'relay no longer wants this answer (request cancelled, expired or already answered)';
    if (status === 401) return 'relay refused the node token (set the same token as the relay: --token / TOKEN_PLACE_RELAY_SERVER_TOKEN)';
    if (status === 429) return 'relay is rate limiting this node';
    if (status === 503) return 'relay is unavailable or draining';
    if (status === 404) return 'relay does not know this route or node';
    if (status === 410) return 'relay route is gone (wrong protocol for this relay?)';
    return `relay answered HTTP ${status}`;
  }

  // ------------------------------------------------------------------ legacy protocol

  private async runLegacy(): Promise<void> {
    while (!this.stopSignal.aborted) {
      let answer: RelayAnswer;
      try {
        answer = await this.post('/sink', { server_public_key: this.keys.publicKeyWire });
      } catch (err) {
        if (err instanceof RelayUnreachableError) {
          await this.unreachable(err, '/sink');
          continue;
        }
        throw err;
      }
      if (answer.status !== 200) {
        await this.failAndWait(
          'relay.bad_status',
          { route: '/sink', status: answer.status, code: errorCode(answer.body) },
          this.httpFailureMessage(answer.status),
        );
        continue;
      }
      const body = answer.body;
      const nextPing = isObject(body) ? finiteNumber(body.next_ping_in_x_seconds) : undefined;
      if (!isObject(body) || nextPing === undefined) {
        await this.failAndWait('relay.bad_answer', { route: '/sink' }, 'relay answered /sink without next_ping_in_x_seconds');
        continue;
      }
      if (this.backoff.attempts > 0) this.log.info({ event: 'relay.recovered', after_attempts: this.backoff.attempts }, 'relay reachable again');
      this.backoff.reset();
      this.markReady();
      if (typeof body.error === 'string' || isObject(body.error)) {
        this.log.warn({ event: 'relay.sink_error', code: errorCode(body) }, 'relay reported an error on /sink');
      } else {
        await this.handleLegacyWork(body);
      }
      // Honour the relay's pacing (upstream nodes do exactly this); 0 = poll again now.
      const waitS = Math.min(Math.max(nextPing, 0), MAX_LEGACY_PING_S);
      if (waitS > 0) await this.sleep(waitS * 1000);
    }
  }

  private async handleLegacyWork(body: Record<string, unknown>): Promise<void> {
    const { client_public_key: clientKey, chat_history: ct, cipherkey, iv } = body;
    const present = [clientKey, ct, cipherkey, iv].filter((v) => v !== undefined).length;
    if (present === 0) return; // no work
    if (typeof clientKey !== 'string' || typeof ct !== 'string' || typeof cipherkey !== 'string' || typeof iv !== 'string') {
      this.log.warn({ event: 'work.malformed' }, 'relay handed out a work item with missing or non-string fields; dropped');
      return;
    }
    let history: unknown;
    try {
      importPublicKey(clientKey);
      history = decryptJson({ ciphertext: ct, cipherkey, iv }, this.keys.privateKeyPem);
    } catch (err) {
      this.log.warn({ event: 'work.decrypt_failed', err_name: (err as Error).name }, 'could not decrypt a work item; dropped');
      return;
    }
    if (!isChatHistory(history)) {
      this.log.warn({ event: 'work.bad_history' }, 'decrypted work item is not a chat history; dropped');
      return;
    }
    const sessionId = body.stream_session_id;
    if (typeof sessionId === 'string' && sessionId !== '') {
      await this.answerLegacyStream(sessionId, clientKey, history);
      return;
    }
    const updated: ChatMessage[] = [...history, { role: 'assistant', content: demoReply(history) }];
    const enc = encryptJson(updated, clientKey);
    const ok = await this.deliver('/source', {
      client_public_key: clientKey,
      chat_history: enc.ciphertext,
      cipherkey: enc.cipherkey,
      iv: enc.iv,
    });
    if (ok) {
      this.answered += 1;
      this.log.info({ event: 'work.answered', route: '/source', turns: history.length }, 'answered a request');
    }
  }

  private async answerLegacyStream(sessionId: string, clientKey: string, history: ChatMessage[]): Promise<void> {
    const pieces = demoReplyChunks(history);
    const enc = new StreamEncryptor(clientKey);
    for (let i = 0; i < pieces.length; i++) {
      const chunk = enc.encrypt(JSON.stringify({ role: 'assistant', delta: pieces[i], index: i }));
      const final = i === pieces.length - 1;
      const ok = await this.deliver('/stream/source', { session_id: sessionId, chunk, final });
      if (!ok) return;
    }
    this.answered += 1;
    this.log.info({ event: 'work.answered', route: '/stream/source', chunks: pieces.length, turns: history.length }, 'answered a streaming request');
  }

  /** POST an answer; retries transient failures (network, 429, 5xx) a few times. */
  private async deliver(route: string, body: unknown): Promise<boolean> {
    const retry = new Backoff({ baseMs: 250, maxMs: 4000 });
    for (let attempt = 1; attempt <= 4; attempt++) {
      let answer: RelayAnswer;
      try {
        answer = await this.post(route, body);
      } catch (err) {
        if (!(err instanceof RelayUnreachableError)) throw err;
        this.log.warn({ event: 'relay.unreachable', route, code: err.code, attempt }, 'could not deliver an answer; retrying');
        await this.sleep(retry.next());
        continue;
      }
      if (answer.status === 200) return true;
      const transient = answer.status === 429 || answer.status >= 500;
      this.log.warn(
        { event: 'relay.answer_rejected', route, status: answer.status, code: errorCode(answer.body), attempt, will_retry: transient && attempt < 4 },
        this.httpFailureMessage(answer.status, route),
      );
      if (!transient) return false;
      await this.sleep(retry.next());
    }
    return false;
  }

  // ------------------------------------------------------------------ API v1

  /**
   * The control credential on every call that names this node: the relay then binds the node to
   * it (sticky ownership), so nobody holding only the registration token can poll, re-register
   * or answer as this node.
   */
  private ownerProof(): { control_credential?: string } {
    return this.controlCredential === undefined ? {} : { control_credential: this.controlCredential };
  }

  private get signs(): boolean {
    return this.opts.signAnswers !== false;
  }

  private get capabilities(): Record<string, unknown> {
    return {
      ...this.baseCapabilities,
      ...(this.signs ? { answer_signing: DEMO_SIGNING_SCHEME } : {}),
      ...(this.opts.stream !== false ? { streaming: STREAM_FORMAT } : {}),
    };
  }

  private async register(): Promise<boolean> {
    let answer: RelayAnswer;
    try {
      answer = await this.post('/api/v1/relay/servers/register', {
        server_public_key: this.keys.publicKeyWire,
        capabilities: this.capabilities,
        ...this.ownerProof(),
      });
    } catch (err) {
      if (err instanceof RelayUnreachableError) {
        await this.unreachable(err, '/api/v1/relay/servers/register');
        return false;
      }
      throw err;
    }
    const body = answer.body;
    if (answer.status !== 200 || !isObject(body)) {
      await this.failAndWait(
        'relay.register_failed',
        { route: '/api/v1/relay/servers/register', status: answer.status, code: errorCode(body) },
        answer.status === 200 ? 'relay answered register with a non-object' : this.httpFailureMessage(answer.status),
      );
      return false;
    }
    const lease = finiteNumber(body.next_ping_in_x_seconds);
    const pollWait = finiteNumber(body.poll_wait_seconds);
    this.leaseS = lease !== undefined && lease > 0 ? lease : 30;
    this.pollWaitS = pollWait !== undefined && pollWait >= 0 ? Math.min(pollWait, 120) : 10;
    if (typeof body.control_credential === 'string' && body.control_credential !== '') this.controlCredential = body.control_credential;
    const wasRegistered = this.registered;
    this.registered = true;
    this.registeredAt = Date.now();
    if (!wasRegistered) {
      this.log.info(
        {
          event: 'node.registered',
          lease_seconds: this.leaseS,
          poll_wait_seconds: this.pollWaitS,
          has_control_credential: this.controlCredential !== undefined,
        },
        'registered with the relay',
      );
    }
    this.backoff.reset();
    this.markReady();
    return true;
  }

  private async runV1(): Promise<void> {
    while (!this.stopSignal.aborted) {
      // Renew the lease well before it runs out (re-registering renews it).
      if (!this.registered || Date.now() - this.registeredAt > (this.leaseS * 1000) / 2) {
        if (!(await this.register())) continue;
      }
      const started = Date.now();
      let answer: RelayAnswer;
      try {
        answer = await this.post(
          '/api/v1/relay/servers/poll',
          { server_public_key: this.keys.publicKeyWire, capabilities: this.capabilities, ...this.ownerProof() },
          Math.max(HTTP_TIMEOUT_MS, this.pollWaitS * 1000 + 5000),
        );
      } catch (err) {
        if (err instanceof RelayUnreachableError) {
          // The relay may have restarted and forgotten us: register again once it answers.
          this.registered = false;
          await this.unreachable(err, '/api/v1/relay/servers/poll');
          continue;
        }
        throw err;
      }
      if (answer.status === 404) {
        this.registered = false;
        this.unknownInARow += 1;
        this.log.info({ event: 'node.reregister', reason: 'unknown_node' }, 'relay does not know this node (restarted or lease expired); registering again');
        if (this.unknownInARow > 1) await this.failAndWait('relay.unknown_node_again', {}, 'relay forgot this node right after registering');
        continue;
      }
      if (answer.status !== 200 || !isObject(answer.body)) {
        await this.failAndWait(
          'relay.bad_status',
          { route: '/api/v1/relay/servers/poll', status: answer.status, code: errorCode(answer.body) },
          answer.status === 200 ? 'relay answered poll with a non-object' : this.httpFailureMessage(answer.status),
        );
        continue;
      }
      this.backoff.reset();
      this.unknownInARow = 0;
      const body = answer.body;
      const pollWait = finiteNumber(body.poll_wait_seconds);
      if (pollWait !== undefined && pollWait >= 0) this.pollWaitS = Math.min(pollWait, 120);
      if (body.protocol === API_V1_PROTOCOL) {
        await this.handleV1Work(body);
        continue;
      }
      // No work. A long-poll already waited; if the relay answered at once, honour its hint
      // and never spin.
      const nextPing = finiteNumber(body.next_ping_in_x_seconds) ?? 0;
      const elapsed = Date.now() - started;
      const waitMs = Math.max(Math.min(nextPing, MAX_LEGACY_PING_S) * 1000, elapsed < 200 ? 500 : 0);
      if (waitMs > 0) await this.sleep(waitMs);
    }
  }

  private async handleV1Work(body: Record<string, unknown>): Promise<void> {
    const clientKey = body.client_public_key;
    const requestId = body.request_id;
    const ct = typeof body.chat_history === 'string' ? body.chat_history : body.ciphertext;
    const { cipherkey, iv } = body;
    if (
      typeof clientKey !== 'string' ||
      typeof requestId !== 'string' ||
      requestId === '' ||
      typeof ct !== 'string' ||
      typeof cipherkey !== 'string' ||
      typeof iv !== 'string'
    ) {
      this.log.warn({ event: 'work.malformed' }, 'relay handed out an API v1 work item with missing fields; dropped');
      return;
    }
    try {
      importPublicKey(clientKey);
    } catch {
      this.log.warn({ event: 'work.bad_client_key' }, 'work item carries an unusable client key; dropped');
      return;
    }
    let envelope: unknown;
    try {
      envelope = decryptJson({ ciphertext: ct, cipherkey, iv }, this.keys.privateKeyPem);
    } catch (err) {
      this.log.warn({ event: 'work.decrypt_failed', err_name: (err as Error).name }, 'could not decrypt a work item');
      await this.respondV1(clientKey, requestId, { error: { code: 'decrypt_failed', message: 'The compute node could not decrypt the request.' } });
      return;
    }
    const problem = this.checkV1Envelope(envelope, clientKey, requestId);
    if (problem) {
      this.log.warn({ event: 'work.bad_envelope', reason: problem }, 'decrypted work item is not a valid API v1 request');
      await this.respondV1(clientKey, requestId, { error: { code: 'invalid_request', message: `The request was rejected: ${problem}.` } });
      return;
    }
    const messages = ((envelope as Record<string, unknown>).api_v1_request as { messages: ChatMessage[] }).messages;
    const { content, finishReason = 'stop' } = this.opts.reply?.(messages) ?? { content: demoReply(messages) };
    // The client asks for the text as it is generated; only a node that advertises it does so.
    const stream = (envelope as Record<string, unknown>).api_v1_stream;
    const wantsStream = this.opts.stream !== false && isObject(stream) && stream.format === STREAM_FORMAT;
    const sequence = { n: 0 };
    await this.think(clientKey, requestId, content, sequence);
    const wanted = await this.generate(clientKey, requestId, content, wantsStream, sequence);
    // Before answering, ask the relay whether the request is still wanted.
    const status = wanted ? await this.controlStatus(requestId) : 'cancelled';
    if (status === 'cancelled' || status === 'expired') {
      this.log.info({ event: 'work.dropped', reason: status }, 'request was cancelled or expired before the answer was ready');
      await this.controlStatus(requestId, true);
      return;
    }
    const ok = await this.respondV1(clientKey, requestId, { message: { role: 'assistant', content }, finish_reason: finishReason });
    if (ok) {
      this.answered += 1;
      this.log.info({ event: 'work.answered', route: '/api/v1/relay/responses', turns: messages.length }, 'answered a request');
    }
  }

  /**
   * Spends opts.thinkMs "generating", posting the record upstream HEAD nodes send
   * (api_v1_progress: phase, token counts, monotonic sequence), encrypted for the client.
   * Progress is best effort: a refused record is not retried.
   */
  private async think(clientKey: string, requestId: string, content: string, seq: { n: number }): Promise<void> {
    const total = this.opts.thinkMs ?? 0;
    if (total <= 0 || !this.controlCredential) return;
    const started = Date.now();
    const tokens = Math.max(1, Math.ceil(content.length / 4));
    for (;;) {
      const sequence = ++seq.n;
      const elapsed = Date.now() - started;
      const generated = Math.min(tokens, Math.floor((tokens * elapsed) / total));
      const enc = encryptJson(
        {
          protocol: API_V1_PROTOCOL,
          version: 1,
          request_id: requestId,
          client_public_key: clientKey,
          api_v1_progress: {
            schema_version: 1,
            sequence,
            phase: sequence === 1 ? 'preparing' : 'generating',
            total_prompt_tokens: 0,
            cached_prompt_tokens: 0,
            processed_prompt_tokens: 0,
            generated_tokens: sequence === 1 ? 0 : generated,
            elapsed_ms: elapsed,
          },
        },
        clientKey,
      );
      const fields = {
        server_public_key: this.keys.publicKeyWire,
        client_public_key: clientKey,
        request_id: requestId,
        control_credential: this.controlCredential,
        protocol: API_V1_PROTOCOL,
        version: 1,
      };
      await this.post('/api/v1/relay/progress', { ...fields, ciphertext: enc.ciphertext, cipherkey: enc.cipherkey, iv: enc.iv }).catch(() => undefined);
      if (elapsed >= total) return;
      await this.sleep(Math.min(250, total - elapsed));
    }
  }

  /**
   * "Generates" the answer a token (a word with its spacing) every tokenDelayMs. A client that
   * asked for the stream gets snapshot records (the whole text so far, signed when the node
   * signs) at most one per snapshotIntervalMs; any other client gets plain progress records
   * (token counts) every 250 ms. Records share one increasing sequence per request. Resolves
   * false when the relay refuses a record because the request is no longer active (cancelled):
   * the node stops generating.
   */
  private async generate(clientKey: string, requestId: string, content: string, wantsStream: boolean, seq: { n: number }): Promise<boolean> {
    const delay = this.opts.tokenDelayMs ?? 0;
    if (delay <= 0 || !this.controlCredential) return true;
    const pieces = content.match(/\S+\s*|\s+/g) ?? [];
    const started = Date.now();
    const fields = {
      server_public_key: this.keys.publicKeyWire,
      client_public_key: clientKey,
      request_id: requestId,
      control_credential: this.controlCredential,
      protocol: API_V1_PROTOCOL,
      version: 1,
    };
    const ctx = {
      protocol: API_V1_PROTOCOL,
      requestId,
      clientPublicKey: clientKey,
      serverPublicKey: this.keys.publicKeyWire,
      ...(this.signs ? { signer: { privateKeyPem: this.keys.privateKeyPem, alg: DEMO_SIGNING_SCHEME } } : {}),
    };
    let tokens = 0;
    const post = async (text: string): Promise<boolean> => {
      const plain = wantsStream
        ? snapshotEnvelope(ctx, ++seq.n, text)
        : {
            protocol: API_V1_PROTOCOL,
            version: 1,
            request_id: requestId,
            client_public_key: clientKey,
            api_v1_progress: {
              schema_version: 1,
              sequence: ++seq.n,
              phase: 'generating',
              total_prompt_tokens: 0,
              cached_prompt_tokens: 0,
              processed_prompt_tokens: 0,
              generated_tokens: tokens,
              elapsed_ms: Date.now() - started,
            },
          };
      const enc = encryptJson(plain, clientKey);
      const body = { ...fields, ciphertext: enc.ciphertext, cipherkey: enc.cipherkey, iv: enc.iv };
      if (wantsStream) {
        this.streamed.records += 1;
        this.streamed.bytes += Buffer.byteLength(JSON.stringify(body));
      }
      try {
        const answer = await this.post('/api/v1/relay/progress', body);
        return !(answer.status === 410 || answer.status === 403 || answer.status === 404);
      } catch (err) {
        if (err instanceof RelayUnreachableError) return true; // the next record carries everything
        throw err;
      }
    };
    const pacer = new SnapshotPacer(wantsStream ? (this.opts.snapshotIntervalMs ?? DEFAULT_SNAPSHOT_INTERVAL_MS) : PROGRESS_INTERVAL_MS, post);
    let text = '';
    try {
      for (const piece of pieces) {
        await this.sleep(delay);
        if (pacer.refused) return false;
        text += piece;
        tokens += 1;
        pacer.offer(text);
      }
    } finally {
      await pacer.close();
    }
    return !pacer.refused;
  }

  private checkV1Envelope(envelope: unknown, clientKey: string, requestId: string): string | null {
    if (!isObject(envelope)) return 'not an object';
    if (envelope.protocol !== API_V1_PROTOCOL) return 'wrong protocol';
    if (envelope.version !== 1) return 'wrong version';
    if (envelope.request_id !== requestId) return 'request id does not match';
    if (envelope.client_public_key !== clientKey) return 'client key binding does not match';
    const req = envelope.api_v1_request;
    if (!isObject(req)) return 'missing api_v1_request';
    if (!isChatHistory(req.messages)) return 'messages must be a non-empty list of {role, content}';
    return null;
  }

  private async controlStatus(requestId: string, acknowledge = false): Promise<string | undefined> {
    if (!this.controlCredential) return undefined;
    try {
      const answer = await this.post('/api/v1/relay/servers/control', {
        server_public_key: this.keys.publicKeyWire,
        request_id: requestId,
        control_credential: this.controlCredential,
        acknowledge,
      });
      if (answer.status !== 200 || !isObject(answer.body)) {
        this.log.warn({ event: 'relay.control_failed', status: answer.status, code: errorCode(answer.body) }, 'control check failed; answering anyway');
        return undefined;
      }
      return typeof answer.body.status === 'string' ? answer.body.status : undefined;
    } catch (err) {
      if (err instanceof RelayUnreachableError) return undefined;
      throw err;
    }
  }

  private async respondV1(clientKey: string, requestId: string, apiV1Response: Record<string, unknown>): Promise<boolean> {
    const envelope: Record<string, unknown> = {
      protocol: API_V1_PROTOCOL,
      version: 1,
      request_id: requestId,
      client_public_key: clientKey,
      api_v1_response: apiV1Response,
    };
    const message = apiV1Response.message as { content?: unknown } | undefined;
    if (this.signs && typeof message?.content === 'string') {
      const finish = typeof apiV1Response.finish_reason === 'string' ? apiV1Response.finish_reason : '';
      envelope.api_v1_signature = signText(
        {
          protocol: API_V1_PROTOCOL,
          purpose: 'answer',
          requestId,
          clientPublicKey: clientKey,
          serverPublicKey: this.keys.publicKeyWire,
          sequence: 0,
          finishReason: finish,
          text: message.content,
        },
        this.keys.privateKeyPem,
        DEMO_SIGNING_SCHEME,
      );
    }
    const enc = encryptJson(envelope, clientKey);
    return this.deliver('/api/v1/relay/responses', {
      server_public_key: this.keys.publicKeyWire,
      ...this.ownerProof(),
      client_public_key: clientKey,
      request_id: requestId,
      protocol: API_V1_PROTOCOL,
      version: 1,
      chat_history: enc.ciphertext,
      cipherkey: enc.cipherkey,
      iv: enc.iv,
    });
  }

  private async unregister(): Promise<void> {
    if (!this.controlCredential) return;
    try {
      const answer = await postJson(
        relayRoute(this.relay, '/api/v1/relay/servers/unregister'),
        { server_public_key: this.keys.publicKeyWire, control_credential: this.controlCredential },
        { token: this.opts.token, timeoutMs: 3000, stop: new AbortController().signal },
      );
      this.log.info({ event: 'node.unregistered', status: answer.status }, 'unregistered from the relay');
    } catch (err) {
      this.log.warn({ event: 'node.unregister_failed', code: (err as RelayUnreachableError).code }, 'could not unregister (the lease will expire)');
    }
    this.registered = false;
  }
}
