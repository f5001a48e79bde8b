// The store's transitions as Lua scripts: Redis runs each script atomically, so two replicas
// racing on the same queue or response see one order and never both win. Caps and the prefix
// are compiled into a prelude shared by every script; `now` and random material come from the
// caller (the clock is injected, and scripts must not depend on the server's randomness).
import { JOB_RECORD_BYTES, NODE_RECORD_BYTES, SESSION_RECORD_BYTES, legacyShares } from './limits.js';
import type { StoreLimits } from '../../store/types.js';
import { NATIVE_GRACE_MS, SWEEP_BATCH, WAKE_CHANNEL, indexTtlMs, luaString } from './redis-keys.js';

function prelude(prefix: string, limits: StoreLimits): string {
  const shares = legacyShares(limits);
  return `
local P = ${luaString(prefix)}
local NODE_TTL = ${limits.nodeTtlMs}
local REQ_TTL = ${limits.requestTtlMs}
local RESP_TTL = ${limits.responseTtlMs}
local STREAM_TTL = ${limits.streamTtlMs}
local MAX_NODES = ${limits.maxNodes}
local MAX_QPN = ${limits.maxQueuePerNode}
local MAX_QPC = ${limits.maxQueuePerClient}
local MAX_QUEUED = ${limits.maxQueuedTotal}
local MAX_RESP = ${limits.maxResponses}
local MAX_STREAMS = ${limits.maxStreamSessions}
local MAX_CHUNKS = ${limits.maxStreamChunks}
local MAX_BYTES = ${limits.maxStoredBytes}
local GRACE = ${NATIVE_GRACE_MS}
local BATCH = ${SWEEP_BATCH}
local INDEX_TTL = ${indexTtlMs(limits)}
-- Per-source shares (a share equal to its cap is no share: the cap refuses).
local SH_BYTES, SH_NODES, SH_QPN = ${shares.bytes}, ${shares.nodes}, ${shares.queuePerNode}
local SH_QUEUED, SH_RESP, SH_STREAMS = ${shares.queued}, ${shares.responses}, ${shares.streams}
local NODE_REC, JOB_REC, SESSION_REC = ${NODE_RECORD_BYTES}, ${JOB_RECORD_BYTES}, ${SESSION_RECORD_BYTES}
local K_SRCBYTES, K_SRCNODES, K_SRCQ = P .. 'srcbytes', P .. 'src:nodes', P .. 'src:queued'
local K_SRCRESP, K_SRCSTREAMS, K_NSRC = P .. 'src:resp', P .. 'src:streams', P .. 'nsrc'
local K_SEEN, K_NODES, K_COUNT, K_QC = P .. 'seen', P .. 'nodes', P .. 'counts', P .. 'qc'
local K_XQ, K_XJ, K_XR, K_XS = P .. 'xq', P .. 'xj', P .. 'xr', P .. 'xs'
local WAKE = P .. ${luaString(WAKE_CHANNEL)}
local function kq(node) return P .. 'q:' .. node end
local function kj(client) return P .. 'j:' .. client end
local function knj(node) return P .. 'nj:' .. node end
local function kr(client) return P .. 'r:' .. client end
local function ks(sid) return P .. 's:' .. sid end
local function ksc(sid) return P .. 'sc:' .. sid end
local function ksb(client) return P .. 'sb:' .. client end
local function kqs(node) return P .. 'qs:' .. node end

-- Integers as plain digits (Lua's default number formatting may switch to exponents).
local function n(v) return string.format('%.0f', v) end
local function num(v) return tonumber(v or '0') or 0 end
local function call(...) return redis.call(...) end

-- Shared bookkeeping keys outlive every entry: refreshed on each write.
local function touchIndexes()
  for _, k in ipairs({K_SEEN, K_NODES, K_COUNT, K_QC, K_XQ, K_XJ, K_XR, K_XS, K_SRCBYTES, K_SRCNODES, K_SRCQ, K_SRCRESP, K_SRCSTREAMS, K_NSRC}) do
    call('PEXPIRE', k, INDEX_TTL)
  end
end

-- Per-source counters: a HASH source -> count; a field at 0 goes (never below zero).
local function srcAdd(hash, src, delta)
  if delta == 0 then return end
  if call('HINCRBY', hash, src, delta) <= 0 then call('HDEL', hash, src) end
end
-- Nil when the source may add 'amount' more under 'share'; else 'share'. Shares equal to
-- their cap are no shares.
local function overShare(hash, src, amount, share, cap)
  if share < cap and num(call('HGET', hash, src)) + amount > share then return 'share' end
  return nil
end
-- Stored bytes of both protocols: the total in counts.bytes, per source in srcbytes.
local function bytesAdd(src, delta)
  if delta == 0 then return end
  call('HINCRBY', K_COUNT, 'bytes', delta)
  srcAdd(K_SRCBYTES, src, delta)
end
-- 'share', 'cap' or nil for adding 'amount' bytes for 'src'.
local function bytesRefusal(src, amount, freedOwn, freedAny)
  if amount <= 0 then return nil end
  if SH_BYTES < MAX_BYTES and num(call('HGET', K_SRCBYTES, src)) - (freedOwn or 0) + amount > SH_BYTES then return 'share' end
  if num(call('HGET', K_COUNT, 'bytes')) - (freedAny or 0) + amount > MAX_BYTES then return 'cap' end
  return nil
end
-- Length-prefixed source in front of a record's tail: "<len> <source><rest>".
local function withSrc(src, rest) return n(#src) .. ' ' .. src .. rest end
local function splitSrc(text)
  local len, at = string.match(text, '^(%d+) ()')
  len = tonumber(len)
  return string.sub(text, at, at + len - 1), string.sub(text, at + len)
end

-- Queue item: "<expires> <enqueued> <bytes> <stream 0|1> <client key bytes> <client key><source len> <source><payload>"
local function parseItem(item)
  local x, t, b, s, len, at = string.match(item, '^(%d+) (%d+) (%d+) (%d) (%d+) ()')
  len = tonumber(len)
  local src, payload = splitSrc(string.sub(item, at + len))
  return tonumber(x), tonumber(t), tonumber(b), s == '1', string.sub(item, at, at + len - 1), payload, src
end

-- In-flight job: "<id> <expires> <enqueued> <bytes> <source len> <source><node key>"
local function parseJob(job)
  local id, x, t, b, at = string.match(job, '^(%d+) (%d+) (%d+) (%d+) ()')
  local src, node = splitSrc(string.sub(job, at))
  return id, tonumber(x), tonumber(t), node, tonumber(b), src
end

-- Stored response: "<expires> <stored> <bytes> <request enqueued or -1> <source len> <source><payload>"
local function parseResponse(v)
  local x, s, b, e, at = string.match(v, '^(%d+) (%d+) (%d+) (%-?%d+) ()')
  local src, payload = splitSrc(string.sub(v, at))
  return tonumber(x), tonumber(s), tonumber(b), tonumber(e), payload, src
end

local function alive(node, now)
  local s = call('ZSCORE', K_NODES, node)
  return s ~= false and tonumber(s) > now
end

-- A node is alive until its heartbeat times out or, if later, its last claimed job expires.
local function refreshNode(node)
  local seen = call('HGET', K_SEEN, node)
  if not seen then return end
  local untilAt = tonumber(seen) + NODE_TTL
  local top = call('ZRANGE', knj(node), -1, -1, 'WITHSCORES')
  if top[2] and tonumber(top[2]) > untilAt then untilAt = tonumber(top[2]) end
  call('ZADD', K_NODES, n(untilAt), node)
end

local function unqueue(node, client, bytes, src)
  call('HINCRBY', K_COUNT, 'queued', -1)
  bytesAdd(src, -bytes)
  srcAdd(K_SRCQ, src, -1)
  srcAdd(kqs(node), src, -1)
  if call('HINCRBY', K_QC, client, -1) <= 0 then call('HDEL', K_QC, client) end
end

-- Re-points the sweep index at the head of a list (or drops it when the list is empty).
local function reindex(index, member, head, expiresOf)
  if head then call('ZADD', index, n(expiresOf(head)), member) else call('ZREM', index, member) end
end
local function itemExpiry(item) return (parseItem(item)) end
local function jobExpiry(job) local _, x = parseJob(job) return x end

local function dropExpiredHead(node, now)
  local q = kq(node)
  local dropped = 0
  while true do
    local head = call('LINDEX', q, 0)
    if not head then break end
    local x, _, b, _, client, _, src = parseItem(head)
    if x > now then break end
    call('LPOP', q)
    unqueue(node, client, b, src)
    dropped = dropped + 1
  end
  if dropped > 0 then reindex(K_XQ, node, call('LINDEX', q, 0), itemExpiry) end
  return dropped
end

local function dropExpiredJobs(client, now)
  local list = kj(client)
  while true do
    local head = call('LINDEX', list, 0)
    if not head then break end
    local id, x, _, node, b, src = parseJob(head)
    if x > now then break end
    call('LPOP', list)
    call('ZREM', knj(node), id)
    call('HINCRBY', K_COUNT, 'inflight', -1)
    bytesAdd(src, -b)
  end
  reindex(K_XJ, client, call('LINDEX', list, 0), jobExpiry)
end

-- Answers the oldest claimed job of a client (answering is a sign of life); returns its
-- enqueue time, or -1 when there was none.
local function finishJob(client, now)
  local job = call('LPOP', kj(client))
  if not job then return -1 end
  local id, _, t, node, b, src = parseJob(job)
  reindex(K_XJ, client, call('LINDEX', kj(client), 0), jobExpiry)
  call('HINCRBY', K_COUNT, 'inflight', -1)
  bytesAdd(src, -b)
  call('ZREM', knj(node), id)
  local seen = call('HGET', K_SEEN, node)
  if seen then
    if now > tonumber(seen) then call('HSET', K_SEEN, node, n(now)) end
    refreshNode(node)
  end
  return t
end

-- A session's hash holds 'b:<source>' -> bytes charged there (its record, its chunks).
local function closeStream(sid)
  local h = call('HGETALL', ks(sid))
  if #h == 0 then call('DEL', ksc(sid)) call('ZREM', K_XS, sid) return end
  local client, owner
  for i = 1, #h, 2 do
    local f, v = h[i], h[i + 1]
    if f == 'c' then client = v elseif f == 's' then owner = v
    elseif string.sub(f, 1, 2) == 'b:' then bytesAdd(string.sub(f, 3), -tonumber(v)) end
  end
  if owner then srcAdd(K_SRCSTREAMS, owner, -1) end
  call('DEL', ks(sid), ksc(sid))
  call('ZREM', K_XS, sid)
  if client and call('GET', ksb(client)) == sid then call('DEL', ksb(client)) end
end

local function expireNodes(now, limit)
  local dead = call('ZRANGEBYSCORE', K_NODES, '-inf', n(now), 'LIMIT', 0, limit)
  for _, node in ipairs(dead) do
    call('ZREM', K_NODES, node)
    call('HDEL', K_SEEN, node)
    call('DEL', knj(node))
    local src = call('HGET', K_NSRC, node)
    if src then
      srcAdd(K_SRCNODES, src, -1)
      bytesAdd(src, -(#node + NODE_REC))
      call('HDEL', K_NSRC, node)
    end
  end
  return #dead
end
`;
}

const REGISTER = `
local node, now, src = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local seen = call('HGET', K_SEEN, node)
if not seen then
  if overShare(K_SRCNODES, src, 1, SH_NODES, MAX_NODES) or call('HLEN', K_SEEN) >= MAX_NODES then
    expireNodes(now, MAX_NODES)
    if overShare(K_SRCNODES, src, 1, SH_NODES, MAX_NODES) then return {0, 'source_node_share_exceeded'} end
    if call('HLEN', K_SEEN) >= MAX_NODES then return {0, 'relay_node_limit'} end
  end
  local bytes = #node + NODE_REC
  local refusal = bytesRefusal(src, bytes)
  if refusal == 'share' then return {0, 'source_bytes_share_exceeded'} end
  if refusal then return {0, 'relay_node_limit'} end
  -- A key stays charged to the address that first registered it.
  call('HSET', K_NSRC, node, src)
  srcAdd(K_SRCNODES, src, 1)
  bytesAdd(src, bytes)
end
call('HSET', K_SEEN, node, n(now))
refreshNode(node)
touchIndexes()
return {1, seen and 0 or 1}
`;

const PICK_NODE = `
-- A random source first, then a random live node of it (bounded by MAX_NODES live nodes).
local now, r1, r2 = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local live = call('ZRANGEBYSCORE', K_NODES, '(' .. n(now), '+inf')
if #live == 0 then return false end
local groups, order = {}, {}
for _, node in ipairs(live) do
  local src = call('HGET', K_NSRC, node) or ''
  if not groups[src] then groups[src] = {} order[#order + 1] = src end
  local g = groups[src]
  g[#g + 1] = node
end
table.sort(order)
local g = groups[order[math.min(math.floor(r1 * #order), #order - 1) + 1]]
return g[math.min(math.floor(r2 * #g), #g - 1) + 1]
`;

const ENQUEUE = `
local node, client, payload, bytes, stream, now, src = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), ARGV[7]
if not alive(node, now) then return {0, 'node_not_found'} end
dropExpiredHead(node, now)
local q = kq(node)
local depth = call('LLEN', q)
if overShare(kqs(node), src, 1, SH_QPN, MAX_QPN) then return {0, 'source_queue_share_exceeded'} end
if depth >= MAX_QPN then return {0, 'node_queue_full'} end
if num(call('HGET', K_QC, client)) >= MAX_QPC then return {0, 'client_queue_full'} end
if overShare(K_SRCQ, src, 1, SH_QUEUED, MAX_QUEUED) then return {0, 'source_queue_share_exceeded'} end
if num(call('HGET', K_COUNT, 'queued')) >= MAX_QUEUED then return {0, 'relay_queue_full'} end
local refusal = bytesRefusal(src, bytes)
if refusal == 'share' then return {0, 'source_bytes_share_exceeded'} end
if refusal then return {0, 'relay_queue_full'} end
local x = now + REQ_TTL
call('RPUSH', q, table.concat({n(x), n(now), n(bytes), stream, n(#client), ''}, ' ') .. client .. withSrc(src, payload))
call('PEXPIRE', q, REQ_TTL + GRACE)
if depth == 0 then call('ZADD', K_XQ, n(x), node) end
call('HINCRBY', K_COUNT, 'queued', 1)
bytesAdd(src, bytes)
srcAdd(K_SRCQ, src, 1)
srcAdd(kqs(node), src, 1)
call('PEXPIRE', kqs(node), REQ_TTL + GRACE)
call('HINCRBY', K_QC, client, 1)
touchIndexes()
call('PUBLISH', WAKE, 'w' .. node)
return {1, depth + 1}
`;

const CLAIM = `
local node, max, now, base = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
dropExpiredHead(node, now)
local q = kq(node)
local items = call('LRANGE', q, 0, max - 1)
if #items == 0 then return {} end
call('LTRIM', q, #items, -1)
local out = {}
for i, item in ipairs(items) do
  local _, t, b, stream, client, payload, src = parseItem(item)
  unqueue(node, client, b, src)
  local sid = ''
  if stream then
    local previous = call('GET', ksb(client))
    if previous then closeStream(previous) end
    local victim
    if overShare(K_SRCSTREAMS, src, 1, SH_STREAMS, MAX_STREAMS) then
      -- Over its share, the source's own least recently touched session makes room.
      for _, other in ipairs(call('ZRANGE', K_XS, 0, -1)) do
        if call('HGET', ks(other), 's') == src then victim = other break end
      end
    end
    if not victim and call('ZCARD', K_XS) >= MAX_STREAMS then
      -- Bounded (last line): the least recently touched session of all makes room.
      victim = call('ZRANGE', K_XS, 0, 0)[1]
    end
    if victim then closeStream(victim) end
    sid = string.sub(redis.sha1hex(base .. ':' .. i), 1, 32)
    local sx = now + STREAM_TTL
    local rec = #sid + #client + SESSION_REC
    call('HSET', ks(sid), 'c', client, 'd', 0, 'f', 0, 'x', n(sx), 's', src, 'a', 0, 'b:' .. src, rec)
    srcAdd(K_SRCSTREAMS, src, 1)
    bytesAdd(src, rec)
    call('PEXPIRE', ks(sid), STREAM_TTL + GRACE)
    call('ZADD', K_XS, n(sx), sid)
    call('SET', ksb(client), sid, 'PX', STREAM_TTL + GRACE)
  end
  local id = call('HINCRBY', K_COUNT, 'seq', 1)
  local jx = now + REQ_TTL
  local list = kj(client)
  -- The job record is charged to the request's source (its request bytes were just released).
  local jb = #client + #node + JOB_REC
  bytesAdd(src, jb)
  if call('RPUSH', list, table.concat({n(id), n(jx), n(t), n(jb), ''}, ' ') .. withSrc(src, node)) == 1 then call('ZADD', K_XJ, n(jx), client) end
  call('PEXPIRE', list, REQ_TTL + GRACE)
  call('ZADD', knj(node), n(jx), n(id))
  call('PEXPIRE', knj(node), REQ_TTL + GRACE)
  call('HINCRBY', K_COUNT, 'inflight', 1)
  out[#out + 1] = {client, n(t), stream and '1' or '0', sid, payload}
end
reindex(K_XQ, node, call('LINDEX', q, 0), itemExpiry)
refreshNode(node)
touchIndexes()
return out
`;

const COMPLETE = `
local client, payload, bytes, now, src = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
-- Only a claimed, unanswered request may be answered.
dropExpiredJobs(client, now)
if not call('LINDEX', kj(client), 0) then return {0, 'answer_not_requested'} end
local rk = kr(client)
local previous = call('GET', rk)
local freed, prevSrc = 0, nil
if previous then local _, _, b, _, _, ps = parseResponse(previous) freed, prevSrc = b, ps end
local mine = prevSrc == src
if not mine and overShare(K_SRCRESP, src, 1, SH_RESP, MAX_RESP) then return {0, 'source_response_share_exceeded'} end
if not previous and call('ZCARD', K_XR) >= MAX_RESP then return {0, 'response_store_full'} end
local refusal = bytesRefusal(src, bytes, mine and freed or 0, freed)
if refusal == 'share' then return {0, 'source_bytes_share_exceeded'} end
if refusal then return {0, 'response_store_full'} end
local enqueued = finishJob(client, now)
if previous then
  bytesAdd(prevSrc, -freed)
  srcAdd(K_SRCRESP, prevSrc, -1)
end
local x = now + RESP_TTL
call('SET', rk, table.concat({n(x), n(now), n(bytes), n(enqueued), ''}, ' ') .. withSrc(src, payload), 'PX', RESP_TTL + GRACE)
call('ZADD', K_XR, n(x), client)
bytesAdd(src, bytes)
srcAdd(K_SRCRESP, src, 1)
touchIndexes()
call('PUBLISH', WAKE, 'r' .. client)
return {1, previous and 1 or 0, enqueued}
`;

const RETRIEVE = `
local client, now = ARGV[1], tonumber(ARGV[2])
local rk = kr(client)
local v = call('GET', rk)
if not v then return false end
local x, s, b, e, payload, src = parseResponse(v)
call('DEL', rk)
call('ZREM', K_XR, client)
bytesAdd(src, -b)
srcAdd(K_SRCRESP, src, -1)
if x <= now then return false end
return {n(s), n(e), payload}
`;

const APPEND_CHUNK = `
local sid, chunk, final, now, src = ARGV[1], ARGV[2], ARGV[3] == '1', tonumber(ARGV[4]), ARGV[5]
local h = call('HMGET', ks(sid), 'x', 'c', 'a')
if not h[1] or tonumber(h[1]) <= now then return 'stream_session_not_found' end
if call('LLEN', ksc(sid)) >= MAX_CHUNKS then return 'stream_session_full' end
-- Chunks count against the byte cap, charged to the address that posts them.
local refusal = bytesRefusal(src, #chunk)
if refusal == 'share' then return 'source_bytes_share_exceeded' end
if refusal then return 'stream_session_full' end
local x = now + STREAM_TTL
call('RPUSH', ksc(sid), withSrc(src, chunk))
bytesAdd(src, #chunk)
call('HINCRBY', ks(sid), 'b:' .. src, #chunk)
call('HSET', ks(sid), 'x', n(x))
if final then
  call('HSET', ks(sid), 'f', 1)
  -- The first final chunk answers the stream request's in-flight job.
  if h[3] ~= '1' then
    call('HSET', ks(sid), 'a', 1)
    dropExpiredJobs(h[2], now)
    finishJob(h[2], now)
  end
end
call('PEXPIRE', ks(sid), STREAM_TTL + GRACE)
call('PEXPIRE', ksc(sid), STREAM_TTL + GRACE)
call('PEXPIRE', ksb(h[2]), STREAM_TTL + GRACE)
call('ZADD', K_XS, n(x), sid)
touchIndexes()
call('PUBLISH', WAKE, 'r' .. h[2])
return 'ok'
`;

const DRAIN_STREAM = `
local client, now = ARGV[1], tonumber(ARGV[2])
local sid = call('GET', ksb(client))
if not sid then return false end
local h = call('HMGET', ks(sid), 'x', 'd', 'f')
if not h[1] or tonumber(h[1]) <= now then return false end
-- Delivered chunks are not kept: each is freed (and its bytes released to its poster) at once.
local rows = call('LRANGE', ksc(sid), 0, -1)
call('DEL', ksc(sid))
local chunks = {}
for i, row in ipairs(rows) do
  local src, text = splitSrc(row)
  chunks[i] = text
  bytesAdd(src, -#text)
  if call('HINCRBY', ks(sid), 'b:' .. src, -#text) <= 0 then call('HDEL', ks(sid), 'b:' .. src) end
end
local final = h[3] == '1'
if final then closeStream(sid) end
return {sid, final and '1' or '0', chunks}
`;

/** One bounded step of expiry over every index; "more" tells the caller to step again. */
const EXPIRE = `
local now = tonumber(ARGV[1])
local nodes = expireNodes(now, BATCH)
local more = nodes == BATCH
local requests = 0
local due = call('ZRANGEBYSCORE', K_XQ, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, node in ipairs(due) do requests = requests + dropExpiredHead(node, now) end
more = more or #due == BATCH
due = call('ZRANGEBYSCORE', K_XJ, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, client in ipairs(due) do dropExpiredJobs(client, now) end
more = more or #due == BATCH
local responses = 0
due = call('ZRANGEBYSCORE', K_XR, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, client in ipairs(due) do
  local v = call('GET', kr(client))
  if v then
    local _, _, b, _, _, src = parseResponse(v)
    bytesAdd(src, -b)
    srcAdd(K_SRCRESP, src, -1)
    call('DEL', kr(client))
  end
  call('ZREM', K_XR, client)
  responses = responses + 1
end
more = more or #due == BATCH
due = call('ZRANGEBYSCORE', K_XS, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, sid in ipairs(due) do closeStream(sid) end
more = more or #due == BATCH
return {nodes, requests, responses, #due, more and 1 or 0}
`;

const STATS = `
local now = tonumber(ARGV[1])
local totals = call('HMGET', K_COUNT, 'queued', 'inflight', 'bytes')
local head = call('ZRANGE', K_XQ, 0, 0, 'WITHSCORES')
local oldest = -1
if head[2] then oldest = tonumber(head[2]) - REQ_TTL end
return {
  call('ZCOUNT', K_NODES, '(' .. n(now), '+inf'),
  num(totals[1]), n(oldest), num(totals[2]), call('ZCARD', K_XR), call('ZCARD', K_XS), num(totals[3]),
}
`;

/** Live nodes for diagnostics (soonest to lapse first: no registration order is kept), total and counters. */
const LIST_NODES = `
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local total = call('ZCOUNT', K_NODES, '(' .. n(now), '+inf')
local rows = {}
if limit > 0 then
  for _, node in ipairs(call('ZRANGEBYSCORE', K_NODES, '(' .. n(now), '+inf', 'LIMIT', 0, limit)) do
    rows[#rows + 1] = {node, call('HGET', K_SEEN, node) or n(now), call('LLEN', kq(node)), call('ZCARD', knj(node))}
  end
end
return {total, rows}
`;

export const SCRIPT_NAMES = ['register', 'pickNode', 'enqueue', 'claim', 'complete', 'retrieve', 'appendChunk', 'drainStream', 'expire', 'stats', 'listNodes'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const BODIES: Record<ScriptName, string> = {
  register: REGISTER,
  pickNode: PICK_NODE,
  enqueue: ENQUEUE,
  claim: CLAIM,
  complete: COMPLETE,
  retrieve: RETRIEVE,
  appendChunk: APPEND_CHUNK,
  drainStream: DRAIN_STREAM,
  expire: EXPIRE,
  stats: STATS,
  listNodes: LIST_NODES,
};

/** Full script sources for one store: prelude (prefix, caps) + transition body. */
export function buildScripts(prefix: string, limits: StoreLimits): Record<ScriptName, string> {
  const head = prelude(prefix, limits);
  const out = {} as Record<ScriptName, string>;
  for (const name of SCRIPT_NAMES) out[name] = head + BODIES[name];
  return out;
}
