--[[
  Live nodes for diagnostics, soonest to lapse first (read-only).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] now (ms)
    ARGV[3] limit

  Output:
    {total live, {{node key, last seen (ms), queue depth, in flight}, ...}}
]]
--@include "prelude.lua"
local now, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local total = call('ZCOUNT', K_NODES, '(' .. n(now), '+inf')
local rows = {}
if limit > 0 then
  for _, node in ipairs(call('ZRANGEBYSCORE', K_NODES, '(' .. n(now), '+inf', 'LIMIT', 0, limit)) do
    rows[#rows + 1] = {node, call('HGET', K_SEEN, node) or n(now), call('LLEN', kq(node)), call('ZCARD', knj(node))}
  end
end
return {total, rows}
