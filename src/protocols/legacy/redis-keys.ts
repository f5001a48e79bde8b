// Key layout of the Redis store. Every key lives under the configured prefix; the families below
// each start with a distinct fixed name, so no node or client key can make two families collide.
//
//   <p>seen          HASH   node key -> last heartbeat (ms)
//   <p>nodes         ZSET   node key -> alive-until (max of heartbeat + node TTL, in-flight expiries)
//   <p>counts        HASH   queued, bytes, inflight, seq: the global caps' running totals
//   <p>qc            HASH   client key -> queued requests for that client (per-client cap)
//   <p>q:<node>      LIST   queued requests, oldest first
//   <p>xq            ZSET   node key -> expiry of the head of its queue (sweep index, oldest age)
//   <p>j:<client>    LIST   claimed, unanswered requests of a client, oldest first
//   <p>nj:<node>     ZSET   job id -> expiry: what keeps a busy node alive
//   <p>xj            ZSET   client key -> expiry of its oldest in-flight job (sweep index)
//   <p>r:<client>    STRING the stored response
//   <p>xr            ZSET   client key -> response expiry (sweep index, response count)
//   <p>s:<session>   HASH   stream session: client, delivered, final, expiry
//   <p>sc:<session>  LIST   stream chunks (JSON text, opaque to the store)
//   <p>sb:<client>   STRING the client's current stream session
//   <p>xs            ZSET   session -> expiry (sweep index, least recently touched first)
//   <p>nsrc          HASH   node key -> the source that registered it
//   <p>srcbytes      HASH   source -> stored bytes (both protocols; total in counts.bytes)
//   <p>src:nodes     HASH   source -> legacy node keys registered
//   <p>src:queued    HASH   source -> legacy requests queued
//   <p>src:resp      HASH   source -> unretrieved legacy answers
//   <p>src:streams   HASH   source -> open stream sessions
//   <p>qs:<node>     HASH   source -> requests queued for that node
//   <p>touched       STRING marker: the legacy bookkeeping keys' TTLs were refreshed within its
//                          lifetime (half the native grace; src/store/redis/lua/common.lua)
//   (queue items, jobs and answers carry their source; sessions keep 's' and 'b:<source>' bytes)
//   <p>wake          pub/sub channel: "w<node>" (work queued) and "r<client>" (response ready)
//   <p>v1:…          the API v1 families (v1-keys.ts)
//
// Logical expiry compares the caller's `now` with the stored expiry; native PEXPIRE (logical TTL
// plus a grace) is a safety net so that Redis frees everything even if every replica is gone.
//
// Scripts are handed <p>counts as KEYS[1] and derive every other name from its prefix
// (src/store/redis/lua/common.lua). On Redis Cluster the prefix carries a hash tag ({...},
// src/store/redis/prefix.ts), so every key of a deployment is in KEYS[1]'s slot.

import type { StoreLimits } from '../../store/types.js';
import { resolveV1Limits } from '../v1/limits.js';

export const WAKE_CHANNEL = 'wake';

/** Native TTL beyond the logical one: long enough that the sweeper always gets there first. */
export const NATIVE_GRACE_MS = 300_000;

/** Entries each sweep step visits per index; expire() repeats steps up to a bound. */
export const SWEEP_BATCH = 500;
export const SWEEP_MAX_STEPS = 20;

/** Native TTL of the shared bookkeeping keys: beyond every logical lifetime of either protocol. */
export function indexTtlMs(limits: StoreLimits): number {
  const v1 = resolveV1Limits(limits);
  const legacy = Math.max(limits.nodeTtlMs, limits.requestTtlMs, limits.responseTtlMs, limits.streamTtlMs);
  const api = Math.max(
    v1.v1LeaseMs,
    v1.v1InflightLeaseMs,
    v1.v1DeadlineMs,
    v1.v1ResponseTtlMs,
    v1.v1TerminalTtlMs,
    v1.v1ControlTombstoneTtlMs,
    v1.v1AckReplayMs,
  );
  return Math.max(legacy, api) + NATIVE_GRACE_MS;
}
