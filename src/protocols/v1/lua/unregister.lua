--[[
  A node leaves: its queued and in-flight work ends as cancelled/server_unregistered.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] node key
    ARGV[3] credential digest or ''
    ARGV[4] now (ms)

  Output:
    {1, removed 0|1, ended}
    {0}                     forbidden
]]
--@include "prelude.lua"
local node, digest, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local owner = call('HGET', kn(node), 'digest')
if not owner then return {1, 0, {}} end
if digest == '' or digest ~= owner then return {0} end
local ended = {}
removeNode(node, now, ended)
touch()
return {1, 1, ended}
