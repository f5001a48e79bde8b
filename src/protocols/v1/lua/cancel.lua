--[[
  A client cancels its request with the cancel token's digest.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] client key
    ARGV[3] request id
    ARGV[4] cancel token digest
    ARGV[5] status
    ARGV[6] reason
    ARGV[7] now (ms)

  Output:
    {1, status, removed from queue 0|1, ended}
    {0}                     forbidden
]]
--@include "prelude.lua"
local client, id, digest, status, reason, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local rk = rkey(client, id)
local r = call('HMGET', kr(rk), 'st', 'cd', 'dl')
if r[1] then
  if not r[2] or r[2] ~= digest then return {0} end
  local ended = {}
  if r[1] ~= 'h' and tonumber(r[3]) <= now then
    endReq(rk, 'expired', 'provider_timeout', now, ended)
    touch()
    return {1, 'expired', 0, ended}
  end
  local removed = r[1] == 'q' and 1 or 0
  endReq(rk, status, reason, now, ended)
  touch()
  return {1, status, removed, ended}
end
local t = clientTomb(rk, now)
if t and t[1] ~= 'completed' and t[3] and t[3] == digest then return {1, t[1], 0, {}} end
return {0}
