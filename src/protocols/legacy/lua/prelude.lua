--[[
  Legacy protocol prelude: its settings, key families (src/protocols/legacy/redis-keys.ts) and
  record codecs, on top of the helpers both protocols share.
]]
--@include "../../../store/redis/lua/common.lua"
local NODE_TTL, REQ_TTL, RESP_TTL, STREAM_TTL = nodeTtlMs, requestTtlMs, responseTtlMs, streamTtlMs
local MAX_NODES, MAX_QPN, MAX_QPC, MAX_QUEUED = maxNodes, maxQueuePerNode, maxQueuePerClient, maxQueuedTotal
local MAX_RESP, MAX_STREAMS, MAX_CHUNKS = maxResponses, maxStreamSessions, maxStreamChunks
local GRACE, BATCH, INDEX_TTL = nativeGraceMs, sweepBatch, indexTtlMs
-- Per-source shares (a share equal to its cap is no share: the cap refuses).
local SH_NODES, SH_QPN = nodesShare, queuePerNodeShare
local SH_QUEUED, SH_RESP, SH_STREAMS = queuedShare, responsesShare, streamsShare
local NODE_REC, JOB_REC, SESSION_REC = nodeRecordBytes, jobRecordBytes, sessionRecordBytes
local K_SRCNODES, K_SRCQ = P .. 'src:nodes', P .. 'src:queued'
local K_SRCRESP, K_SRCSTREAMS, K_NSRC = P .. 'src:resp', P .. 'src:streams', P .. 'nsrc'
local K_SEEN, K_NODES, K_QC = P .. 'seen', P .. 'nodes', P .. 'qc'
local K_XQ, K_XJ, K_XR, K_XS = P .. 'xq', P .. 'xj', P .. 'xr', P .. 'xs'
local function kq(node) return P .. 'q:' .. node end
local function kj(client) return P .. 'j:' .. client end
local function knj(node) return P .. 'nj:' .. node end
local function kr(client) return P .. 'r:' .. client end
local function ks(sid) return P .. 's:' .. sid end
local function ksc(sid) return P .. 'sc:' .. sid end
local function ksb(client) return P .. 'sb:' .. client end
local function kqs(node) return P .. 'qs:' .. node end
local srcAdd = hadd
local function bytesAdd(src, delta) addBytes(delta, src) end

-- Shared bookkeeping keys outlive every entry (common.lua, grew and touchAll): writes that
-- may create one go through grew or counter; each write script ends with touchIndexes.
local INDEXES = {K_SEEN, K_NODES, K_COUNT, K_QC, K_XQ, K_XJ, K_XR, K_XS, K_SRCBYTES, K_SRCNODES, K_SRCQ, K_SRCRESP, K_SRCSTREAMS, K_NSRC}
local K_TOUCHED = P .. 'touched'
local function touchIndexes() touchAll(K_TOUCHED, INDEXES) end

-- Nil when the source may add 'amount' more under 'share'; else 'share'. Shares equal to
-- their cap are no shares.
local function overShare(hash, src, amount, share, cap)
  if share < cap and num(call('HGET', hash, src)) + amount > share then return 'share' end
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
  grew(K_NODES, call('ZADD', K_NODES, n(untilAt), node))
end

local function unqueue(node, client, bytes, src)
  counter(K_COUNT, 'queued', -1)
  bytesAdd(src, -bytes)
  srcAdd(K_SRCQ, src, -1)
  srcAdd(kqs(node), src, -1)
  hadd(K_QC, client, -1)
end

-- Re-points the sweep index at the head of a list (or drops it when the list is empty).
local function reindex(index, member, head, expiresOf)
  if head then grew(index, call('ZADD', index, n(expiresOf(head)), member)) else call('ZREM', index, member) end
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
    counter(K_COUNT, 'inflight', -1)
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
  counter(K_COUNT, 'inflight', -1)
  bytesAdd(src, -b)
  call('ZREM', knj(node), id)
  local seen = call('HGET', K_SEEN, node)
  if seen then
    if now > tonumber(seen) then grew(K_SEEN, call('HSET', K_SEEN, node, n(now))) end
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
