--[[
  API v1 prelude: its settings and key families (src/protocols/v1/redis-keys.ts) on top of the
  helpers both protocols share, then the v1 helpers (helpers.lua).
]]
--@include "../../../store/redis/lua/common.lua"
local MAX_NODES, MAX_QPC = maxNodes, maxQueuePerClient
local BATCH, INDEX_TTL = sweepBatch, indexTtlMs
local LEASE, INFL, DEADLINE = v1LeaseMs, v1InflightLeaseMs, v1DeadlineMs
local RESP_TTL, TERM_TTL, CTRL_TTL, REPLAY = v1ResponseTtlMs, v1TerminalTtlMs, v1ControlTombstoneTtlMs, v1AckReplayMs
local MAX_QPN, MAX_REQ, MAX_TOMBS = v1MaxQueuePerNode, v1MaxRequests, v1MaxTombstones
local MAX_NODES_PS, MAX_QPN_PS, MAX_REQ_PS = v1MaxNodesPerSource, v1MaxQueuePerNodePerSource, v1MaxRequestsPerSource
local MAX_RECLAIMS = v1MaxReclaims
local RECORD_OVERHEAD, TOMB_OVERHEAD = v1RecordOverhead, v1TombOverhead
-- Context tier name -> tokens.
local TIERS = contextTiers
local EXPLORE_EVERY = exploreEvery
local K1_XF, K1_SRCN, K1_SRCR, K1_SCUR = P .. 'v1:xf', P .. 'v1:srcn', P .. 'v1:srcr', P .. 'v1:scur'
local K1_NODES, K1_ALIVE, K1_META, K1_QC = P .. 'v1:nodes', P .. 'v1:alive', P .. 'v1:meta', P .. 'v1:qc'
local K1_XA, K1_XQ, K1_XH, K1_XT = P .. 'v1:xa', P .. 'v1:xq', P .. 'v1:xh', P .. 'v1:xt'
local K1_XR = P .. 'v1:xr'
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

-- Shared bookkeeping keys outlive every entry (common.lua, grew and touchAll): writes that
-- may create one go through grew or counter; each write script ends with touch.
local INDEXES = {K_COUNT, K_SRCBYTES, K1_NODES, K1_ALIVE, K1_META, K1_QC, K1_XA, K1_XQ, K1_XH, K1_XT, K1_XR, K1_XF, K1_SRCN, K1_SRCR, K1_SCUR}
local K1_TOUCHED = P .. 'v1:touched'
local function touch() touchAll(K1_TOUCHED, INDEXES) end
local function bytesFit(extra, src) return bytesRefusal(src, extra) == nil end
local function wakeWork(node) call('PUBLISH', WAKE, 'wv1\0' .. node) end
local function wakeClient(client, id) call('PUBLISH', WAKE, 'rv1\0' .. client .. '\0' .. id) end
--@include "helpers.lua"
