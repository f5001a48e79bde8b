// The store's transitions as Lua scripts: Redis runs each script atomically, so two replicas
// racing on the same queue or response see one order and never both win. Caps and the prefix
// are compiled into a prelude shared by every script; `now` and random material come from the
// caller (the clock is injected, and scripts must not depend on the server's randomness).
import type { StoreLimits } from '../types.js';
import { NATIVE_GRACE_MS, SWEEP_BATCH, WAKE_CHANNEL, indexTtlMs, luaString } from './keys.js';

function prelude(prefix: string, limits: StoreLimits): string {
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

-- Integers as plain digits (Lua's default number formatting may switch to exponents).
local function n(v) return string.format('%.0f', v) end
local function num(v) return tonumber(v or '0') or 0 end
local function call(...) return redis.call(...) end

-- Shared bookkeeping keys outlive every entry: refreshed on each write.
local function touchIndexes()
  for _, k in ipairs({K_SEEN, K_NODES, K_COUNT, K_QC, K_XQ, K_XJ, K_XR, K_XS}) do call('PEXPIRE', k, INDEX_TTL) end
end

-- Queue item: "<expires> <enqueued> <bytes> <stream 0|1> <client key bytes> <client key><payload>"
local function parseItem(item)
  local x, t, b, s, len, at = string.match(item, '^(%d+) (%d+) (%d+) (%d) (%d+) ()')
  len = tonumber(len)
  return tonumber(x), tonumber(t), tonumber(b), s == '1', string.sub(item, at, at + len - 1), string.sub(item, at + len)
end

-- In-flight job: "<id> <expires> <enqueued> <node key>"
local function parseJob(job)
  local id, x, t, at = string.match(job, '^(%d+) (%d+) (%d+) ()')
  return id, tonumber(x), tonumber(t), string.sub(job, at)
end

-- Stored response: "<expires> <stored> <bytes> <request enqueued or -1> <payload>"
local function parseResponse(v)
  local x, s, b, e, at = string.match(v, '^(%d+) (%d+) (%d+) (%-?%d+) ()')
  return tonumber(x), tonumber(s), tonumber(b), tonumber(e), string.sub(v, at)
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

local function unqueue(client, bytes)
  call('HINCRBY', K_COUNT, 'queued', -1)
  call('HINCRBY', K_COUNT, 'bytes', -bytes)
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
    local x, _, b, _, client = parseItem(head)
    if x > now then break end
    call('LPOP', q)
    unqueue(client, b)
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
    local id, x, _, node = parseJob(head)
    if x > now then break end
    call('LPOP', list)
    call('ZREM', knj(node), id)
    call('HINCRBY', K_COUNT, 'inflight', -1)
  end
  reindex(K_XJ, client, call('LINDEX', list, 0), jobExpiry)
end

local function closeStream(sid)
  local client = call('HGET', ks(sid), 'c')
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
  end
  return #dead
end
`;
}

const REGISTER = `
local node, now = ARGV[1], tonumber(ARGV[2])
local seen = call('HGET', K_SEEN, node)
if not seen and call('HLEN', K_SEEN) >= MAX_NODES then
  expireNodes(now, MAX_NODES)
  if call('HLEN', K_SEEN) >= MAX_NODES then return {0} end
end
call('HSET', K_SEEN, node, n(now))
refreshNode(node)
touchIndexes()
return {1, seen and 0 or 1}
`;

const PICK_NODE = `
local now, r = tonumber(ARGV[1]), tonumber(ARGV[2])
local live = call('ZCOUNT', K_NODES, '(' .. n(now), '+inf')
if live == 0 then return false end
local i = math.min(math.floor(r * live), live - 1)
return call('ZRANGEBYSCORE', K_NODES, '(' .. n(now), '+inf', 'LIMIT', i, 1)[1]
`;

const ENQUEUE = `
local node, client, payload, bytes, stream, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
if not alive(node, now) then return {0, 'node_not_found'} end
dropExpiredHead(node, now)
local q = kq(node)
local depth = call('LLEN', q)
if depth >= MAX_QPN then return {0, 'node_queue_full'} end
if num(call('HGET', K_QC, client)) >= MAX_QPC then return {0, 'client_queue_full'} end
local totals = call('HMGET', K_COUNT, 'queued', 'bytes')
if num(totals[1]) >= MAX_QUEUED or num(totals[2]) + bytes > MAX_BYTES then return {0, 'relay_queue_full'} end
local x = now + REQ_TTL
call('RPUSH', q, table.concat({n(x), n(now), n(bytes), stream, n(#client), ''}, ' ') .. client .. payload)
call('PEXPIRE', q, REQ_TTL + GRACE)
if depth == 0 then call('ZADD', K_XQ, n(x), node) end
call('HINCRBY', K_COUNT, 'queued', 1)
call('HINCRBY', K_COUNT, 'bytes', bytes)
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
  local _, t, b, stream, client, payload = parseItem(item)
  unqueue(client, b)
  local sid = ''
  if stream then
    local previous = call('GET', ksb(client))
    if previous then closeStream(previous) end
    if call('ZCARD', K_XS) >= MAX_STREAMS then
      -- Bounded: the least recently touched session makes room.
      local oldest = call('ZRANGE', K_XS, 0, 0)[1]
      if oldest then closeStream(oldest) end
    end
    sid = string.sub(redis.sha1hex(base .. ':' .. i), 1, 32)
    local sx = now + STREAM_TTL
    call('HSET', ks(sid), 'c', client, 'd', 0, 'f', 0, 'x', n(sx))
    call('PEXPIRE', ks(sid), STREAM_TTL + GRACE)
    call('ZADD', K_XS, n(sx), sid)
    call('SET', ksb(client), sid, 'PX', STREAM_TTL + GRACE)
  end
  local id = call('HINCRBY', K_COUNT, 'seq', 1)
  local jx = now + REQ_TTL
  local list = kj(client)
  if call('RPUSH', list, table.concat({n(id), n(jx), n(t), ''}, ' ') .. node) == 1 then call('ZADD', K_XJ, n(jx), client) end
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
local client, payload, bytes, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local rk = kr(client)
local previous = call('GET', rk)
local freed = 0
if previous then local _, _, b = parseResponse(previous) freed = b end
if not previous and call('ZCARD', K_XR) >= MAX_RESP then return {0} end
if num(call('HGET', K_COUNT, 'bytes')) - freed + bytes > MAX_BYTES then return {0} end
-- The oldest claimed job of this client is answered; answering is a sign of life.
local enqueued = -1
local job = call('LPOP', kj(client))
if job then
  local id, _, t, node = parseJob(job)
  enqueued = t
  reindex(K_XJ, client, call('LINDEX', kj(client), 0), jobExpiry)
  call('HINCRBY', K_COUNT, 'inflight', -1)
  call('ZREM', knj(node), id)
  local seen = call('HGET', K_SEEN, node)
  if seen then
    if now > tonumber(seen) then call('HSET', K_SEEN, node, n(now)) end
    refreshNode(node)
  end
end
local x = now + RESP_TTL
call('SET', rk, table.concat({n(x), n(now), n(bytes), n(enqueued), ''}, ' ') .. payload, 'PX', RESP_TTL + GRACE)
call('ZADD', K_XR, n(x), client)
call('HINCRBY', K_COUNT, 'bytes', bytes - freed)
touchIndexes()
call('PUBLISH', WAKE, 'r' .. client)
return {1, previous and 1 or 0, enqueued}
`;

const RETRIEVE = `
local client, now = ARGV[1], tonumber(ARGV[2])
local rk = kr(client)
local v = call('GET', rk)
if not v then return false end
local x, s, b, e, payload = parseResponse(v)
call('DEL', rk)
call('ZREM', K_XR, client)
call('HINCRBY', K_COUNT, 'bytes', -b)
if x <= now then return false end
return {n(s), n(e), payload}
`;

const APPEND_CHUNK = `
local sid, chunk, final, now = ARGV[1], ARGV[2], ARGV[3] == '1', tonumber(ARGV[4])
local h = call('HMGET', ks(sid), 'x', 'c')
if not h[1] or tonumber(h[1]) <= now then return 'stream_session_not_found' end
if call('LLEN', ksc(sid)) >= MAX_CHUNKS then return 'stream_session_full' end
local x = now + STREAM_TTL
call('RPUSH', ksc(sid), chunk)
call('HSET', ks(sid), 'x', n(x))
if final then call('HSET', ks(sid), 'f', 1) end
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
local delivered = tonumber(h[2])
local chunks = call('LRANGE', ksc(sid), delivered, -1)
call('HSET', ks(sid), 'd', delivered + #chunks)
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
    local _, _, b = parseResponse(v)
    call('HINCRBY', K_COUNT, 'bytes', -b)
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
