--[[
  Registers a legacy node key, or refreshes its heartbeat.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] node key
    ARGV[3] now (ms)
    ARGV[4] source (IPv4 address or IPv6 /64)

  Output:
    {1, created}            created: 1 for a new key, 0 for a heartbeat
    {0, reason}             relay_node_limit | source_node_share_exceeded | source_bytes_share_exceeded
]]
--@include "prelude.lua"
local node, now, src = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local seen = call('HGET', K_SEEN, node)
if not seen then
  if overShare(K_SRCNODES, src, 1, SH_NODES, MAX_NODES) or call('HLEN', K_SEEN) >= MAX_NODES then
    expireNodes(now, MAX_NODES)
    if overShare(K_SRCNODES, src, 1, SH_NODES, MAX_NODES) then return {0, 'source_node_share_exceeded'} end
    if call('HLEN', K_SEEN) >= MAX_NODES then return {0, 'relay_node_limit'} end
  end
  local bytes = #node + NODE_REC
  local refusal = bytesRefusal(src, bytes)
  if refusal == 'share' then return {0, 'source_bytes_share_exceeded'} end
  if refusal then return {0, 'relay_node_limit'} end
  -- A key stays charged to the address that first registered it.
  grew(K_NSRC, call('HSET', K_NSRC, node, src))
  srcAdd(K_SRCNODES, src, 1)
  bytesAdd(src, bytes)
end
grew(K_SEEN, call('HSET', K_SEEN, node, n(now)))
refreshNode(node)
touchIndexes()
return {1, seen and 0 or 1}
