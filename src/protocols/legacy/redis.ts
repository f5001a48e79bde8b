// The legacy transitions of the Redis store: argument encoding and reply decoding around the Lua
// scripts of redis-scripts.ts, where the transitions themselves run (one script each, atomic across
// replicas). Contracts are in types.ts; the memory twin is memory.ts; src/store/redis.ts owns the
// connection and composes this half with the API v1 one.
import { randomBytes, randomInt } from 'node:crypto';
import { LOCAL_SOURCE, type NodeView } from '../../store/types.js';
import { SWEEP_MAX_STEPS } from './redis-keys.js';
import type { ScriptName } from './redis-scripts.js';
import {
  requestBytes,
  responseBytes,
  type ChunkOutcome,
  type ClaimedRequest,
  type CompleteOutcome,
  type EncryptedResponse,
  type EnqueueOutcome,
  type ExpiryCounts,
  type LegacyTransitions,
  type QueuedRequest,
  type RegisterOutcome,
  type StoredResponse,
  type StreamBatch,
} from './types.js';

export type LegacyScriptRunner = (name: ScriptName, ...args: (string | number)[]) => Promise<unknown>;

/** This half's part of the store's stats (bytes: both protocols', one counter holds the shared cap). */
export interface LegacyRedisStats {
  nodes: number;
  queued: number;
  oldestQueuedAgeMs: number;
  inflight: number;
  responses: number;
  streams: number;
  storedBytes: number;
}

export class RedisLegacy implements LegacyTransitions {
  constructor(private readonly run: LegacyScriptRunner) {}

  async register(nodeKey: string, now: number, source: string = LOCAL_SOURCE): Promise<RegisterOutcome> {
    const [ok, value] = (await this.run('register', nodeKey, now, source)) as [number, number | string];
    if (ok === 1) return { ok: true, created: value === 1 };
    return { ok: false, reason: value as 'relay_node_limit' | 'source_node_share_exceeded' | 'source_bytes_share_exceeded' };
  }

  async pickNode(now: number): Promise<string | null> {
    // The script picks a source, then one of its nodes; the randomness comes from here, not from the server.
    const r = () => randomInt(0, 2 ** 47) / 2 ** 47;
    return ((await this.run('pickNode', now, r(), r())) as string | null) ?? null;
  }

  async enqueue(nodeKey: string, request: QueuedRequest, now: number, source: string = LOCAL_SOURCE): Promise<EnqueueOutcome> {
    const payload = JSON.stringify([request.chatHistory, request.cipherkey, request.iv]);
    const [ok, value] = (await this.run('enqueue', nodeKey, request.clientKey, payload, requestBytes(request), request.stream ? '1' : '0', now, source)) as [
      number,
      number | string,
    ];
    if (ok === 1) return { ok: true, queueDepth: Number(value) };
    return { ok: false, reason: value as Extract<EnqueueOutcome, { ok: false }>['reason'] };
  }

  async claim(nodeKey: string, max: number, now: number): Promise<ClaimedRequest[]> {
    if (max <= 0) return [];
    const rows = (await this.run('claim', nodeKey, max, now, randomBytes(16).toString('hex'))) as [string, string, string, string, string][];
    return rows.map(([clientKey, enqueuedAt, stream, sessionId, payload]) => {
      const [chatHistory, cipherkey, iv] = JSON.parse(payload) as [string, string, string];
      const item: ClaimedRequest = { clientKey, chatHistory, cipherkey, iv, stream: stream === '1', enqueuedAt: Number(enqueuedAt) };
      if (sessionId !== '') item.streamSessionId = sessionId;
      return item;
    });
  }

  async complete(clientKey: string, response: EncryptedResponse, now: number, source: string = LOCAL_SOURCE): Promise<CompleteOutcome> {
    const payload = JSON.stringify([response.chatHistory, response.cipherkey, response.iv]);
    const [ok, replaced, enqueued] = (await this.run('complete', clientKey, payload, responseBytes(clientKey, response), now, source)) as [
      number,
      (number | string)?,
      number?,
    ];
    if (ok !== 1) return { ok: false, reason: replaced as Extract<CompleteOutcome, { ok: false }>['reason'] };
    return { ok: true, replaced: replaced === 1, requestEnqueuedAt: enqueued === undefined || enqueued < 0 ? null : enqueued };
  }

  async retrieve(clientKey: string, now: number): Promise<StoredResponse | null> {
    const row = (await this.run('retrieve', clientKey, now)) as [string, string, string] | null;
    if (row === null) return null;
    const [storedAt, enqueued, payload] = row;
    const [chatHistory, cipherkey, iv] = JSON.parse(payload) as [string, string, string];
    const requestEnqueuedAt = Number(enqueued);
    return { chatHistory, cipherkey, iv, storedAt: Number(storedAt), requestEnqueuedAt: requestEnqueuedAt < 0 ? null : requestEnqueuedAt };
  }

  async appendChunk(sessionId: string, chunk: string, final: boolean, now: number, source: string = LOCAL_SOURCE): Promise<ChunkOutcome> {
    const outcome = (await this.run('appendChunk', sessionId, chunk, final ? '1' : '0', now, source)) as string;
    if (outcome === 'ok') return { ok: true };
    return { ok: false, reason: outcome as Extract<ChunkOutcome, { ok: false }>['reason'] };
  }

  async drainStream(clientKey: string, now: number): Promise<StreamBatch | null> {
    const row = (await this.run('drainStream', clientKey, now)) as [string, string, string[]] | null;
    if (row === null) return null;
    const [sessionId, final, chunks] = row;
    return { sessionId, chunks, final: final === '1' };
  }

  async expire(now: number): Promise<ExpiryCounts> {
    const counts: ExpiryCounts = { nodes: 0, requests: 0, responses: 0, streams: 0 };
    // Each step is one bounded script run (other commands interleave between steps).
    for (let step = 0; step < SWEEP_MAX_STEPS; step += 1) {
      const [nodes, requests, responses, streams, more] = (await this.run('expire', now)) as number[];
      counts.nodes += nodes ?? 0;
      counts.requests += requests ?? 0;
      counts.responses += responses ?? 0;
      counts.streams += streams ?? 0;
      if (more !== 1) break;
    }
    return counts;
  }

  async stats(now: number): Promise<LegacyRedisStats> {
    const [nodes, queued, oldest, inflight, responses, streams, storedBytes] = (await this.run('stats', now)) as [
      number,
      number,
      string,
      number,
      number,
      number,
      number,
    ];
    const oldestAt = Number(oldest);
    return { nodes, queued, oldestQueuedAgeMs: oldestAt < 0 ? 0 : Math.max(0, now - oldestAt), inflight, responses, streams, storedBytes };
  }

  async listNodes(now: number, limit: number): Promise<{ views: NodeView[]; total: number }> {
    const [total, rows] = (await this.run('listNodes', now, Math.max(0, Math.floor(limit)))) as [number, [string, string, number, number][]];
    const views = rows.map(([key, seen, queueDepth, inflight]): NodeView => ({
      protocol: 'legacy',
      key,
      ageMs: Math.max(0, now - Number(seen)),
      queueDepth,
      inflight,
    }));
    return { views, total };
  }
}
