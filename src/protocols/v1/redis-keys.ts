// Key layout of the API v1 state in the Redis store, beside the legacy families (keys.ts). Every
// family starts with "v1:", which no legacy family does, so the two protocols never collide.
// A request is named by rk = "<bytes of client key>:<client key><request id>", unambiguous
// whatever the keys contain.
//
//   <p>v1:nodes       ZSET   node key -> registration seq (selection and listing order)
//   <p>v1:alive       ZSET   node key -> alive-until = max(lease, longest running in-flight lease);
//                            kept exact, so "healthy" is one ZSCORE and the eviction index a range
//   <p>v1:meta        HASH   seq (registrations), order (admissions), cursor (seq picked last),
//                            csrc (source picked last), picks (successful picks: the exploration
//                            turn), shared by every replica
//   <p>v1:qc          HASH   client key -> active requests (per-client cap)
//   <p>v1:xa          ZSET   rk -> deadline: queued and in-flight requests (deadline sweep, count)
//   <p>v1:xq          ZSET   rk -> admitted at: queued requests (count, oldest age)
//   <p>v1:xh          ZSET   rk -> held until: answered, unfetched (response sweep, count)
//   <p>v1:xt          ZSET   rk -> max(client until, node until): tombstones (prune, cap)
//   <p>v1:xf          ZSET   rk -> in-flight lease: claims (the sweep requeues lapsed ones)
//   <p>v1:srcn        HASH   source -> v1 nodes it registered (node share)
//   <p>v1:srcr        HASH   source -> live requests it submitted (request share)
//   <p>v1:scur        HASH   source -> seq picked last among its nodes (selection fairness)
//   <p>v1:qs:<node>   HASH   source -> requests it has queued on that node (queue share)
//   <p>srcbytes       HASH   source -> bytes held, both protocols (byte share; HDEL at 0)
//   <p>v1:n:<node>    HASH   seq, caps (JSON), tier, mct, conc, models (JSON), digest, lease, seen,
//                            src, b (bytes), bd ('1': bound to its credential), pl ('1': has polled),
//                            pv ('1': proven: delivered an accepted answer)
//   <p>v1:q:<node>    ZSET   rk -> admission order: the node's queue
//   <p>v1:f:<node>    ZSET   request id -> in-flight lease: claimed requests (load, liveness)
//   <p>v1:i:<node>    HASH   request id -> rk: queued and in flight on that node (id binding)
//   <p>v1:nt:<node>   HASH   request id -> rk: tombstones the node's control poll may read
//   <p>v1:r:<rk>      HASH   the request: c, i, n, cd, at, dl, st (q|f|h), b (bytes), lu, ca, hu,
//                            s (submitting source), bs (source its bytes are charged to), dg
//                            (admission digest), o (admission order), cl ('1': claimed once),
//                            lp (lapsed claims), rb (bytes of the request record);
//                            ct/ck/iv (request while queued or in flight, response once held),
//                            pc/pk/pi (progress)
//   <p>v1:h:<client>  ZSET   rk -> completion order: the client's held answers
//   <p>v1:t:<rk>      HASH   tombstone: c, i, st, rs, cd, dl, cu, nk, od, nu, dg, s, b
//
// Bytes count into the legacy <p>counts "bytes" field, so maxStoredBytes bounds both protocols in
// every script of either. Wake-ups go to the legacy channel as "w" + v1WorkWakeKey(node) and
// "r" + v1ResponseWakeKey(client, id), which the fan-out delivers as-is.
import type { StoreLimits } from '../../store/types.js';
import { V1_MAX_RECLAIMS, V1_RECORD_OVERHEAD, V1_TOMB_OVERHEAD, resolveV1Limits } from './limits.js';
import { CONTEXT_TIER_TOKENS } from './types.js';
import { EXPLORE_EVERY } from './selection.js';
import { SWEEP_BATCH, WAKE_CHANNEL, indexTtlMs, luaString } from '../legacy/redis-keys.js';

/** Constants, key names and the smallest helpers shared by every v1 script. */
export function v1KeysLua(prefix: string, limits: StoreLimits): string {
  const v1 = resolveV1Limits(limits);
  const tiers = Object.entries(CONTEXT_TIER_TOKENS)
    .map(([tier, tokens]) => `[${luaString(tier)}] = ${tokens}`)
    .join(', ');
  return `
local P = ${luaString(prefix)}
local MAX_NODES = ${limits.maxNodes}
local MAX_QPC = ${limits.maxQueuePerClient}
local MAX_BYTES = ${limits.maxStoredBytes}
local BATCH = ${SWEEP_BATCH}
local INDEX_TTL = ${indexTtlMs(limits)}
local LEASE = ${v1.v1LeaseMs}
local INFL = ${v1.v1InflightLeaseMs}
local DEADLINE = ${v1.v1DeadlineMs}
local RESP_TTL = ${v1.v1ResponseTtlMs}
local TERM_TTL = ${v1.v1TerminalTtlMs}
local CTRL_TTL = ${v1.v1ControlTombstoneTtlMs}
local MAX_QPN = ${v1.v1MaxQueuePerNode}
local MAX_REQ = ${v1.v1MaxRequests}
local MAX_TOMBS = ${v1.v1MaxTombstones}
local MAX_NODES_PS = ${v1.v1MaxNodesPerSource}
local MAX_QPN_PS = ${v1.v1MaxQueuePerNodePerSource}
local MAX_REQ_PS = ${v1.v1MaxRequestsPerSource}
local MAX_BYTES_PS = ${limits.maxStoredBytesPerSource ?? limits.maxStoredBytes}
local MAX_RECLAIMS = ${V1_MAX_RECLAIMS}
local RECORD_OVERHEAD, TOMB_OVERHEAD = ${V1_RECORD_OVERHEAD}, ${V1_TOMB_OVERHEAD}
local TIERS = { ${tiers} }
local EXPLORE_EVERY = ${EXPLORE_EVERY}
local K_COUNT = P .. 'counts'
local K_SRCBYTES = P .. 'srcbytes'
local K1_XF, K1_SRCN, K1_SRCR, K1_SCUR = P .. 'v1:xf', P .. 'v1:srcn', P .. 'v1:srcr', P .. 'v1:scur'
local WAKE = P .. ${luaString(WAKE_CHANNEL)}
local K1_NODES, K1_ALIVE, K1_META, K1_QC = P .. 'v1:nodes', P .. 'v1:alive', P .. 'v1:meta', P .. 'v1:qc'
local K1_XA, K1_XQ, K1_XH, K1_XT = P .. 'v1:xa', P .. 'v1:xq', P .. 'v1:xh', P .. 'v1:xt'
local function kn(node) return P .. 'v1:n:' .. node end
local function kq(node) return P .. 'v1:q:' .. node end
local function kf(node) return P .. 'v1:f:' .. node end
local function ki(node) return P .. 'v1:i:' .. node end
local function knt(node) return P .. 'v1:nt:' .. node end
local function kr(rk) return P .. 'v1:r:' .. rk end
local function kh(client) return P .. 'v1:h:' .. client end
local function kt(rk) return P .. 'v1:t:' .. rk end
local function kqs(node) return P .. 'v1:qs:' .. node end
local function rkey(client, id) return #client .. ':' .. client .. id end

local call = redis.call
-- Integers as plain digits (Lua's default number formatting may switch to exponents).
local function n(v) return string.format('%.0f', v) end
local function num(v) return tonumber(v or '0') or 0 end

-- Shared bookkeeping keys outlive every entry: refreshed on each write.
local function touch()
  for _, k in ipairs({K_COUNT, K_SRCBYTES, K1_NODES, K1_ALIVE, K1_META, K1_QC, K1_XA, K1_XQ, K1_XH, K1_XT, K1_XF, K1_SRCN, K1_SRCR, K1_SCUR}) do call('PEXPIRE', k, INDEX_TTL) end
end
-- A per-source counter: adds d, drops the field at zero (the hash holds only live sources).
local function hadd(key, field, d)
  if d == 0 then return end
  if call('HINCRBY', key, field, d) <= 0 then call('HDEL', key, field) end
end
-- Bytes count in the total (<p>counts bytes) and at the source that holds them (<p>srcbytes).
local function addBytes(d, src)
  if d == 0 then return end
  call('HINCRBY', K_COUNT, 'bytes', d)
  hadd(K_SRCBYTES, src or '-', d)
end
-- nil when src may add extra bytes; else 'share' (its share is full) or 'cap' (the whole cap).
local function bytesRefusal(src, extra)
  if extra <= 0 then return nil end
  if MAX_BYTES_PS < MAX_BYTES and num(call('HGET', K_SRCBYTES, src or '-')) + extra > MAX_BYTES_PS then return 'share' end
  if num(call('HGET', K_COUNT, 'bytes')) + extra > MAX_BYTES then return 'cap' end
  return nil
end
local function bytesFit(extra, src) return bytesRefusal(src, extra) == nil end
local function wakeWork(node) call('PUBLISH', WAKE, 'wv1\\0' .. node) end
local function wakeClient(client, id) call('PUBLISH', WAKE, 'rv1\\0' .. client .. '\\0' .. id) end
`;
}
