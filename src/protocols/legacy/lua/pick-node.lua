--[[
  Picks a live node: a random source first, then a random node of it.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] now (ms)
    ARGV[3] r1: random in [0, 1) for the source
    ARGV[4] r2: random in [0, 1) for the node

  Output:
    node key, or false       false: no live node
]]
--@include "prelude.lua"
-- A random source first, then a random live node of it (bounded by MAX_NODES live nodes).
local now, r1, r2 = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
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
