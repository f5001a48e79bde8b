// Key layout of the API v1 state in the Redis store, beside the legacy families (keys.ts). Every
// family starts with "v1:", which no legacy family does, so the two protocols never collide.
// A request is named by rk = "<bytes of client key>:<client key><request id>", unambiguous
// whatever the keys contain.
//
//   <p>v1:nodes       ZSET   node key -> registration seq (selection and listing order)
//   <p>v1:alive       ZSET   node key -> alive-until = max(lease, longest running in-flight lease);
//                            kept exact, so "healthy" is one ZSCORE and the eviction index a range
//   <p>v1:meta        HASH   seq (registrations), order (admissions), cursor (round-robin: seq
//                            picked last, shared by every replica)
//   <p>v1:qc          HASH   client key -> active requests (per-client cap)
//   <p>v1:xa          ZSET   rk -> deadline: queued and in-flight requests (deadline sweep, count)
//   <p>v1:xq          ZSET   rk -> admitted at: queued requests (count, oldest age)
//   <p>v1:xh          ZSET   rk -> held until: answered, unfetched (response sweep, count)
//   <p>v1:xt          ZSET   rk -> max(client until, node until): tombstones (prune, cap)
//   <p>v1:n:<node>    HASH   seq, caps (JSON), tier, mct, conc, models (JSON), digest, lease, seen
//   <p>v1:q:<node>    ZSET   rk -> admission order: the node's queue
//   <p>v1:f:<node>    ZSET   request id -> in-flight lease: claimed requests (load, liveness)
//   <p>v1:i:<node>    HASH   request id -> rk: queued and in flight on that node (id binding)
//   <p>v1:nt:<node>   HASH   request id -> rk: tombstones the node's control poll may read
//   <p>v1:r:<rk>      HASH   the request: c, i, n, cd, at, dl, st (q|f|h), b (bytes), lu, ca, hu;
//                            ct/ck/iv (request while queued, response once held), pc/pk/pi (progress)
//   <p>v1:h:<client>  ZSET   rk -> completion order: the client's held answers
//   <p>v1:t:<rk>      HASH   tombstone: c, i, st, rs, cd, dl, cu, nk, od, nu
//
// Bytes count into the legacy <p>counts "bytes" field, so maxStoredBytes bounds both protocols in
// every script of either. Wake-ups go to the legacy channel as "w" + v1WorkWakeKey(node) and
// "r" + v1ResponseWakeKey(client, id), which the fan-out delivers as-is.
import type { StoreLimits } from '../types.js';
import { resolveV1Limits } from '../v1-limits.js';
import { CONTEXT_TIER_TOKENS } from '../v1-types.js';
import { SWEEP_BATCH, WAKE_CHANNEL, indexTtlMs, luaString } from './keys.js';

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
local TIERS = { ${tiers} }
local K_COUNT = P .. 'counts'
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
local function rkey(client, id) return #client .. ':' .. client .. id end

local call = redis.call
-- Integers as plain digits (Lua's default number formatting may switch to exponents).
local function n(v) return string.format('%.0f', v) end
local function num(v) return tonumber(v or '0') or 0 end

-- Shared bookkeeping keys outlive every entry: refreshed on each write.
local function touch()
  for _, k in ipairs({K_COUNT, K1_NODES, K1_ALIVE, K1_META, K1_QC, K1_XA, K1_XQ, K1_XH, K1_XT}) do call('PEXPIRE', k, INDEX_TTL) end
end
local function addBytes(d) if d ~= 0 then call('HINCRBY', K_COUNT, 'bytes', d) end end
local function bytesFit(extra) return num(call('HGET', K_COUNT, 'bytes')) + extra <= MAX_BYTES end
local function wakeWork(node) call('PUBLISH', WAKE, 'wv1\\0' .. node) end
local function wakeClient(client, id) call('PUBLISH', WAKE, 'rv1\\0' .. client .. '\\0' .. id) end
`;
}
