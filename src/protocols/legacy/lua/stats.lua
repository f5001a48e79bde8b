--[[
  Counters for metrics (read-only).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] now (ms)

  Output:
    {live nodes, queued, oldest queued enqueue time or '-1', in flight, responses, stream sessions, stored bytes (both protocols)}
]]
--@include "prelude.lua"
local now = tonumber(ARGV[2])
local totals = call('HMGET', K_COUNT, 'queued', 'inflight', 'bytes')
local head = call('ZRANGE', K_XQ, 0, 0, 'WITHSCORES')
local oldest = -1
if head[2] then oldest = tonumber(head[2]) - REQ_TTL end
return {
  call('ZCOUNT', K_NODES, '(' .. n(now), '+inf'),
  num(totals[1]), n(oldest), num(totals[2]), call('ZCARD', K_XR), call('ZCARD', K_XS), num(totals[3]),
}
