--[[
  Hands up to max queued requests of a node to it; each becomes an in-flight job (and a stream session for stream requests).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] node key
    ARGV[3] max requests
    ARGV[4] now (ms)
    ARGV[5] random hex: seeds stream session ids

  Output:
    {{client key, enqueued at, stream '1'|'0', session id or '', payload}, ...}   oldest first; {} when none
]]
-- An empty queue answers before the prelude runs: such a claim reads and writes nothing else. The
-- key is the prelude's kq(node): <P>q:<node>.
if redis.call('EXISTS', string.sub(KEYS[1], 1, #KEYS[1] - 6) .. 'q:' .. ARGV[2]) == 0 then return {} end
--@include "prelude.lua"
local node, max, now, base = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
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
    grew(K_XS, call('ZADD', K_XS, n(sx), sid))
    call('SET', ksb(client), sid, 'PX', STREAM_TTL + GRACE)
  end
  local id = counter(K_COUNT, 'seq', 1)
  local jx = now + REQ_TTL
  local list = kj(client)
  -- The job record is charged to the request's source (its request bytes were just released).
  local jb = #client + #node + JOB_REC
  bytesAdd(src, jb)
  if call('RPUSH', list, table.concat({n(id), n(jx), n(t), n(jb), ''}, ' ') .. withSrc(src, node)) == 1 then grew(K_XJ, call('ZADD', K_XJ, n(jx), client)) end
  call('PEXPIRE', list, REQ_TTL + GRACE)
  call('ZADD', knj(node), n(jx), n(id))
  call('PEXPIRE', knj(node), REQ_TTL + GRACE)
  counter(K_COUNT, 'inflight', 1)
  out[#out + 1] = {client, n(t), stream and '1' or '0', sid, payload}
end
reindex(K_XQ, node, call('LINDEX', q, 0), itemExpiry)
refreshNode(node)
touchIndexes()
return out
