--[[
  Healthy v1 nodes in registration order (read-only).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] now (ms)
    ARGV[3] limit

  Output:
    {total healthy, {{node key, last seen, queue depth, in flight, capabilities JSON}, ...}}
]]
--@include "prelude.lua"
local now, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local total, views = 0, {}
for _, node in ipairs(call('ZRANGE', K1_NODES, 0, -1)) do
  if healthy(node, now) then
    total = total + 1
    if #views < limit then
      local h = call('HMGET', kn(node), 'seen', 'caps')
      views[#views + 1] = {node, h[1], call('ZCARD', kq(node)), call('ZCOUNT', kf(node), '(' .. n(now), '+inf'), h[2]}
    end
  end
end
return {total, views}
