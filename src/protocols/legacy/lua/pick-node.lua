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
-- The nodes' sources in one HMGET per PICK_BATCH nodes, not one HGET per node (Lua's unpack is
-- bounded by its C stack, so a large fleet takes a few batches).
local PICK_BATCH = 500
for at = 1, #live, PICK_BATCH do
  local batch = {unpack(live, at, math.min(at + PICK_BATCH - 1, #live))}
  local sources = call('HMGET', K_NSRC, unpack(batch))
  for i, node in ipairs(batch) do
    local src = sources[i] or ''
    if not groups[src] then groups[src] = {} order[#order + 1] = src end
    local g = groups[src]
    g[#g + 1] = node
  end
end
table.sort(order)
local g = groups[order[math.min(math.floor(r1 * #order), #order - 1) + 1]]
return g[math.min(math.floor(r2 * #g), #g - 1) + 1]
