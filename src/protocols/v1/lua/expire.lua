--[[
  One bounded sweep step over the v1 indexes: lapsed leases, deadlines, held answers, replays of
  handed-out answers, tombstones.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] now (ms)

  Output:
    {evicted nodes, expired responses, pruned tombstones, more 0|1, ended, requeued}
]]
--@include "prelude.lua"
local now = tonumber(ARGV[2])
local ended = {}
local more = false
local due = call('ZRANGEBYSCORE', K1_XA, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, rk in ipairs(due) do endReq(rk, 'expired', 'provider_timeout', now, ended) end
more = more or #due == BATCH
local responses = 0
due = call('ZRANGEBYSCORE', K1_XH, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, rk in ipairs(due) do
  endReq(rk, 'expired', 'expired', now, ended)
  responses = responses + 1
end
more = more or #due == BATCH
due = call('ZRANGEBYSCORE', K1_XR, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, rk in ipairs(due) do dropReplay(rk) end
more = more or #due == BATCH
-- Claims whose claimer stopped control-polling: back to the head of their node's queue (their
-- admission order), or, after MAX_RECLAIMS lapses, ended as expired/claimer_lost. This runs
-- before node eviction, which would otherwise cancel them with a lapsed node.
local requeued = 0
due = call('ZRANGEBYSCORE', K1_XF, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, rk in ipairs(due) do
  local r = call('HMGET', kr(rk), 'st', 'n', 'i', 'lp', 's', 'o', 'at', 'b', 'rb', 'bs')
  if r[1] ~= 'f' then
    call('ZREM', K1_XF, rk)
  elseif num(r[4]) >= MAX_RECLAIMS then
    endReq(rk, 'expired', 'claimer_lost', now, ended)
  else
    local node = r[2]
    call('ZREM', K1_XF, rk)
    call('ZREM', kf(node), r[3])
    call('HDEL', kr(rk), 'pc', 'pk', 'pi')
    call('HSET', kr(rk), 'st', 'q', 'lu', 0, 'lp', num(r[4]) + 1, 'b', n(num(r[9])))
    addBytes(num(r[9]) - num(r[8]), r[10])
    call('ZADD', kq(node), r[6], rk)
    hadd(kqs(node), r[5] or '-', 1)
    grew(K1_XQ, call('ZADD', K1_XQ, r[7], rk))
    refreshAlive(node, now)
    wakeWork(node)
    requeued = requeued + 1
  end
end
more = more or #due == BATCH
local evicted = 0
due = call('ZRANGEBYSCORE', K1_ALIVE, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, node in ipairs(due) do
  if call('EXISTS', kn(node)) == 0 then
    call('ZREM', K1_ALIVE, node)
    call('ZREM', K1_NODES, node)
  elseif refreshAlive(node, now) <= now then
    removeNode(node, now, ended)
    evicted = evicted + 1
  end
end
more = more or #due == BATCH
due = call('ZRANGEBYSCORE', K1_XT, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, rk in ipairs(due) do dropTomb(rk) end
more = more or #due == BATCH
if requeued > 0 then touch() end
return {evicted, responses, #due, more and 1 or 0, ended, requeued}
