--[[
  v1 counters for metrics (read-only).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] now (ms)

  Output:
    {nodes, healthy, queued, in flight, held answers, tombstones, oldest queued admission or '-1', stored bytes (both protocols)}
]]
--@include "prelude.lua"
local now = tonumber(ARGV[2])
local head = call('ZRANGE', K1_XQ, 0, 0, 'WITHSCORES')
local queued, active = call('ZCARD', K1_XQ), call('ZCARD', K1_XA)
return {
  call('ZCARD', K1_NODES), call('ZCOUNT', K1_ALIVE, '(' .. n(now), '+inf'), queued, active - queued,
  call('ZCARD', K1_XH), call('ZCARD', K1_XT), head[2] or '-1', num(call('HGET', K_COUNT, 'bytes')),
}
