// The API v1 transitions of the Redis store: argument encoding and reply decoding around the Lua
// scripts of v1-scripts.ts, where the transitions themselves run. Contracts are on RelayStore
// (types.ts); the memory twin is src/protocols/v1/memory.ts.
import type { NodeView, StoreStats } from '../../store/types.js';
import { V1_RECORD_OVERHEAD, nodeBytes, resolveV1Limits, type V1Limits } from './limits.js';
import { UNKNOWN_SOURCE, admissionDigest, type V1CallOptions } from './types.js';
import { loadOf } from './selection.js';
import type {
  V1AcceptOutcome,
  V1AdmitOutcome,
  V1CancelOutcome,
  V1Capabilities,
  V1Ciphertext,
  V1ClaimOutcome,
  V1ControlOutcome,
  V1Ended,
  V1ExpiryReport,
  V1GoneStatus,
  V1LeaseOutcome,
  V1NewRequest,
  V1Outcome,
  V1ProgressOutcome,
  V1RegisterOutcome,
  V1RetrieveOutcome,
  V1SelectQuery,
  V1Selection,
  V1TerminalReason,
  V1TerminalStatus,
  V1Transitions,
  V1UnregisterOutcome,
} from './types.js';
import type { StoreLimits } from '../../store/types.js';
import { SWEEP_MAX_STEPS } from '../legacy/redis-keys.js';
import type { V1ScriptName } from './redis-scripts.js';

export type V1ScriptRunner = (name: V1ScriptName, ...args: (string | number)[]) => Promise<unknown>;

type Reply = unknown[];

/** Ciphertext bytes a record holds, counted like the memory store (UTF-16 length). */
function cipherBytes(c: V1Ciphertext): number {
  return c.ciphertext.length + c.cipherkey.length + c.iv.length;
}

/** Capabilities as the scripts read them: JSON to hand back, plus the fields selection compares. */
function capsArgs(caps: V1Capabilities): string[] {
  return [JSON.stringify(caps), caps.contextTier, String(caps.maxContextTokens), String(caps.maxConcurrency), JSON.stringify(caps.supportedModelIds)];
}

function endedOf(flat: unknown): V1Ended[] {
  const items = (flat as string[] | null) ?? [];
  const out: V1Ended[] = [];
  for (let i = 0; i + 1 < items.length; i += 2) out.push({ outcome: items[i] as V1Outcome, reason: items[i + 1] as V1Ended['reason'] });
  return out;
}

function countsOf(flat: unknown): Record<string, number> {
  const items = flat as (string | number)[];
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < items.length; i += 2) out[String(items[i])] = Number(items[i + 1]);
  return out;
}

export type V1Stats = Pick<StoreStats, 'v1Nodes' | 'v1HealthyNodes' | 'v1Queued' | 'v1Inflight' | 'v1Responses' | 'v1Tombstones' | 'v1OldestQueuedAgeMs'>;

export class RedisV1 implements V1Transitions {
  readonly limits: V1Limits;

  constructor(
    base: StoreLimits,
    private readonly run: V1ScriptRunner,
  ) {
    this.limits = resolveV1Limits(base);
  }

  async registerNode(
    nodeKey: string,
    capabilities: V1Capabilities,
    credentialDigest: string,
    now: number,
    options: V1CallOptions = {},
  ): Promise<V1RegisterOutcome> {
    const reply = (await this.run(
      'v1Register',
      nodeKey,
      ...capsArgs(capabilities),
      credentialDigest,
      now,
      options.credentialDigest ?? '',
      options.source ?? UNKNOWN_SOURCE,
      nodeBytes(nodeKey, capabilities),
    )) as Reply;
    if (reply[0] !== 1) return { ok: false, reason: reply[1] as Extract<V1RegisterOutcome, { ok: false }>['reason'] };
    return { ok: true, created: reply[1] === 1, credentialIssued: reply[2] === 1 };
  }

  async renewLease(nodeKey: string, capabilities: V1Capabilities | null, now: number, holdMs: number, options: V1CallOptions = {}): Promise<V1LeaseOutcome> {
    const caps = capabilities === null ? ['', '', '', '', ''] : capsArgs(capabilities);
    const bytes = capabilities === null ? 0 : nodeBytes(nodeKey, capabilities);
    const reply = (await this.run('v1Renew', nodeKey, ...caps, now, Math.max(0, Math.floor(holdMs)), options.credentialDigest ?? '', bytes)) as Reply;
    return reply[0] === 1 ? { ok: true } : { ok: false, reason: reply[1] as Extract<V1LeaseOutcome, { ok: false }>['reason'] };
  }

  async selectNode(query: V1SelectQuery, now: number): Promise<V1Selection> {
    const reply = (await this.run('v1Select', query.model, query.contextTier, now)) as Reply;
    if (reply[0] !== 1) {
      const [, reason, capacityLimitedCount, eligible, limited] = reply as [
        number,
        'no_registered_compute_nodes' | 'no_matching_compute_node' | 'no_available_capacity',
        number,
        unknown,
        unknown,
      ];
      return { ok: false, reason, eligibleTierCounts: countsOf(eligible), capacityLimitedCount, capacityLimitedTierCounts: countsOf(limited) };
    }
    const [, nodeKey, capsJson, queueDepth, inflight, eligibleCount, spillover, eligible, limited] = reply as [
      number,
      string,
      string,
      number,
      number,
      number,
      number,
      unknown,
      unknown,
    ];
    const capabilities = JSON.parse(capsJson) as V1Capabilities;
    return {
      ok: true,
      nodeKey,
      capabilities,
      load: loadOf({ key: nodeKey, seq: 0, capabilities, queueDepth, inflight }),
      eligibleCount,
      eligibleTierCounts: countsOf(eligible),
      capacityLimitedTierCounts: countsOf(limited),
      spillover: spillover === 1,
    };
  }

  async admitRequest(request: V1NewRequest, now: number): Promise<V1AdmitOutcome> {
    const bytes = V1_RECORD_OVERHEAD + cipherBytes(request) + request.clientKey.length + request.requestId.length;
    const reply = (await this.run(
      'v1Admit',
      request.nodeKey,
      request.clientKey,
      request.requestId,
      request.cancelTokenDigest ?? '',
      request.ciphertext,
      request.cipherkey,
      request.iv,
      bytes,
      now,
      admissionDigest(request),
      request.source ?? UNKNOWN_SOURCE,
    )) as Reply;
    if (reply[0] === 1) {
      const outcome: V1AdmitOutcome = { ok: true, deadlineAt: Number(reply[1]), queueDepth: Number(reply[2]) };
      if (reply[3] === 1) outcome.duplicate = true;
      return outcome;
    }
    return { ok: false, reason: reply[1] as Extract<V1AdmitOutcome, { ok: false }>['reason'] };
  }

  async claimRequest(nodeKey: string, now: number, options: V1CallOptions = {}): Promise<V1ClaimOutcome> {
    const reply = (await this.run('v1Claim', nodeKey, now, options.credentialDigest ?? '')) as Reply;
    if (reply[0] !== 1) return { ok: false, reason: reply[1] as Extract<V1ClaimOutcome, { ok: false }>['reason'] };
    const ended = endedOf(reply[1]);
    const row = reply[2] as string[];
    if (row.length === 0) return { ok: true, request: null, ended };
    const [clientKey, requestId, ciphertext, cipherkey, iv, admittedAt, deadlineAt] = row as [string, string, string, string, string, string, string];
    return { ok: true, ended, request: { ciphertext, cipherkey, iv, clientKey, requestId, admittedAt: Number(admittedAt), deadlineAt: Number(deadlineAt) } };
  }

  async renewInflight(nodeKey: string, requestId: string, credentialDigest: string | null, acknowledge: boolean, now: number): Promise<V1ControlOutcome> {
    const reply = (await this.run('v1Control', nodeKey, requestId, credentialDigest ?? '', acknowledge ? '1' : '0', now)) as Reply;
    if (reply[0] !== 1) return { ok: false, reason: 'forbidden' };
    const status = reply[1] as 'active' | 'unavailable' | V1TerminalStatus;
    if (status === 'unavailable') return { ok: true, status };
    if (status === 'active') return { ok: true, status, deadlineAt: Number(reply[2]) };
    const deadline = reply[2] === false || reply[2] === null || reply[2] === '' ? null : Number(reply[2]);
    return { ok: true, status, deadlineAt: deadline, acknowledged: reply[3] === 1, ended: endedOf(reply[4]) };
  }

  async acceptResponse(clientKey: string, requestId: string, response: V1Ciphertext, now: number, options: V1CallOptions = {}): Promise<V1AcceptOutcome> {
    const bytes = V1_RECORD_OVERHEAD + cipherBytes(response) + clientKey.length + requestId.length;
    const reply = (await this.run(
      'v1Accept',
      clientKey,
      requestId,
      response.ciphertext,
      response.cipherkey,
      response.iv,
      bytes,
      now,
      options.nodeKey ?? '',
      options.credentialDigest ?? '',
      options.source ?? '',
    )) as Reply;
    if (reply[0] === 1) return { ok: true, duplicate: reply[1] === 1, ended: endedOf(reply[2]) };
    if (reply[1] !== 'request_gone') return { ok: false, reason: reply[1] as Exclude<Extract<V1AcceptOutcome, { ok: false }>['reason'], 'request_gone'> };
    return { ok: false, reason: 'request_gone', status: reply[2] as V1GoneStatus, ended: endedOf(reply[3]) };
  }

  async retrieveResponse(clientKey: string, requestId: string | null, now: number, options: V1CallOptions = {}): Promise<V1RetrieveOutcome> {
    const reply = (await this.run('v1Retrieve', clientKey, requestId ?? '', now, options.ack === true ? '1' : '0')) as Reply;
    switch (reply[0]) {
      case 'response': {
        const [, ciphertext, cipherkey, iv, id, admittedAt, completedAt] = reply as string[];
        return {
          kind: 'response',
          response: {
            ciphertext: ciphertext!,
            cipherkey: cipherkey!,
            iv: iv!,
            clientKey,
            requestId: id!,
            admittedAt: Number(admittedAt),
            completedAt: Number(completedAt),
          },
        };
      }
      case 'pending': {
        const [, deadline, ciphertext, cipherkey, iv] = reply as string[];
        const progress = ciphertext === undefined ? null : { ciphertext, cipherkey: cipherkey!, iv: iv! };
        return { kind: 'pending', deadlineAt: Number(deadline), progress };
      }
      case 'terminal':
        return { kind: 'terminal', status: reply[1] as V1TerminalStatus, reason: reply[2] as V1TerminalReason, ended: endedOf(reply[3]) };
      default:
        return { kind: 'unknown' };
    }
  }

  async cancelRequest(
    clientKey: string,
    requestId: string,
    cancelTokenDigest: string,
    status: V1TerminalStatus,
    reason: V1TerminalReason,
    now: number,
  ): Promise<V1CancelOutcome> {
    const reply = (await this.run('v1Cancel', clientKey, requestId, cancelTokenDigest, status, reason, now)) as Reply;
    if (reply[0] !== 1) return { ok: false, reason: 'forbidden' };
    return { ok: true, status: reply[1] as V1TerminalStatus, removedFromQueue: Number(reply[2]), ended: endedOf(reply[3]) };
  }

  async recordProgress(
    nodeKey: string,
    credentialDigest: string,
    clientKey: string,
    requestId: string,
    progress: V1Ciphertext,
    now: number,
  ): Promise<V1ProgressOutcome> {
    const reply = (await this.run(
      'v1Progress',
      nodeKey,
      credentialDigest,
      clientKey,
      requestId,
      progress.ciphertext,
      progress.cipherkey,
      progress.iv,
      cipherBytes(progress),
      now,
    )) as Reply;
    if (reply[0] === 1) return { ok: true, replaced: reply[1] === 1 };
    return { ok: false, reason: reply[1] as Extract<V1ProgressOutcome, { ok: false }>['reason'] };
  }

  async unregisterNode(nodeKey: string, credentialDigest: string | null, now: number): Promise<V1UnregisterOutcome> {
    const reply = (await this.run('v1Unregister', nodeKey, credentialDigest ?? '', now)) as Reply;
    if (reply[0] !== 1) return { ok: false, reason: 'forbidden' };
    return { ok: true, removed: reply[1] === 1, ended: endedOf(reply[2]) };
  }

  async expire(now: number): Promise<V1ExpiryReport> {
    const report: V1ExpiryReport = { evictedNodes: 0, ended: [], expiredResponses: 0, prunedTombstones: 0, requeued: 0 };
    // Each step is one bounded script run (other commands interleave between steps).
    for (let step = 0; step < SWEEP_MAX_STEPS; step += 1) {
      const [evicted, responses, pruned, more, ended, requeued] = (await this.run('v1Expire', now)) as [number, number, number, number, unknown, number];
      report.requeued! += requeued;
      report.evictedNodes += evicted;
      report.expiredResponses += responses;
      report.prunedTombstones += pruned;
      report.ended.push(...endedOf(ended));
      if (more !== 1) break;
    }
    return report;
  }

  /** v1 counters, plus the shared byte counter (both protocols). */
  async stats(now: number): Promise<{ stats: V1Stats; bytes: number }> {
    const [nodes, healthy, queued, inflight, held, tombs, oldest, bytes] = (await this.run('v1Stats', now)) as [
      number,
      number,
      number,
      number,
      number,
      number,
      string,
      number,
    ];
    const oldestAt = Number(oldest);
    return {
      bytes,
      stats: {
        v1Nodes: nodes,
        v1HealthyNodes: healthy,
        v1Queued: queued,
        v1Inflight: inflight,
        v1Responses: held,
        v1Tombstones: tombs,
        v1OldestQueuedAgeMs: oldestAt < 0 ? 0 : Math.max(0, now - oldestAt),
      },
    };
  }

  async listNodes(now: number, limit: number): Promise<{ views: NodeView[]; total: number }> {
    const [total, rows] = (await this.run('v1List', now, Math.max(0, Math.floor(limit)))) as [number, [string, string, number, number, string][]];
    const views = rows.map(([key, seen, queueDepth, inflight, caps]): NodeView => ({
      protocol: 'v1',
      key,
      ageMs: Math.max(0, now - Number(seen)),
      queueDepth,
      inflight,
      leaseSeconds: this.limits.v1LeaseMs / 1000,
      capabilities: JSON.parse(caps) as V1Capabilities,
    }));
    return { views, total };
  }
}
