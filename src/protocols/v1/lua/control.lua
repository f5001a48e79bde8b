--[[
  A node's control poll for a request it holds: renews its in-flight lease or reports how it ended.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] node key
    ARGV[3] request id
    ARGV[4] credential digest
    ARGV[5] acknowledge: '1' | '0'
    ARGV[6] now (ms)

  Output:
    {1, 'active', deadline}
    {1, 'unavailable'}
    {1, status, deadline or '', acknowledged 0|1, ended}   a terminal status
    {0}                     forbidden
]]
--@include "prelude.lua"
local node, id, digest, ack, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1', tonumber(ARGV[6])
local known = call('EXISTS', kn(node)) == 1
if known then
  if digest == '' or digest ~= call('HGET', kn(node), 'digest') then return {0} end
  local rk = call('HGET', ki(node), id)
  local r = rk and call('HMGET', kr(rk), 'st', 'dl') or {}
  if r[1] == 'f' then
    local dl = tonumber(r[2])
    if dl <= now then
      local ended = {}
      endReq(rk, 'expired', 'provider_timeout', now, ended)
      return {1, 'expired', n(dl), 0, ended}
    end
    local lease = math.min(now + INFL, dl)
    call('ZADD', kf(node), n(lease), id)
    grew(K1_XF, call('ZADD', K1_XF, n(lease), rk))
    call('HSET', kr(rk), 'lu', n(lease))
    local seen = num(call('HGET', kn(node), 'seen'))
    if now > seen then call('HSET', kn(node), 'seen', n(now)) end
    refreshAlive(node, now)
    touch()
    return {1, 'active', n(dl)}
  end
end
local rk = call('HGET', knt(node), id)
local t = rk and call('HMGET', kt(rk), 'st', 'dl', 'od', 'nu', 'cu') or {}
local visible = t[4] and tonumber(t[4]) > now
if not visible or digest == '' or t[3] ~= digest then
  if known then return {1, 'unavailable'} end
  return {0}
end
if t[1] == 'completed' then return {1, 'unavailable'} end
if ack then
  call('HSET', kt(rk), 'nu', 0)
  call('HDEL', knt(node), id)
  grew(K1_XT, call('ZADD', K1_XT, t[5], rk))
end
return {1, t[1], t[2], ack and 1 or 0, {}}
