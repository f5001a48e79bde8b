--[[
  A node claims the oldest request of its queue (lapsed requests it meets end first).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] node key
    ARGV[3] now (ms)
    ARGV[4] presented credential digest or ''

  Output:
    {1, ended, {client key, request id, ciphertext, cipherkey, iv, admitted at, deadline}}   {} when the queue is empty
    {0, reason}             node_not_found | invalid_control_credential | node_credential_required
    ended: flat {outcome, reason, ...} of requests this call ended
]]
--@include "prelude.lua"
local node, now = ARGV[2], tonumber(ARGV[3])
if call('EXISTS', kn(node)) == 0 then return {0, 'node_not_found'} end
local refusal = ownerRefusal(node, ARGV[4])
if refusal then return {0, refusal} end
local ended = {}
while true do
  local rk = call('ZRANGE', kq(node), 0, 0)[1]
  if not rk then break end
  local r = call('HMGET', kr(rk), 'c', 'i', 'at', 'dl', 'ct', 'ck', 'iv', 's')
  local dl = tonumber(r[4])
  if dl <= now then
    endReq(rk, 'expired', 'provider_timeout', now, ended)
  else
    call('ZREM', kq(node), rk)
    hadd(kqs(node), r[8] or '-', -1)
    call('ZREM', K1_XQ, rk)
    local lease = math.min(now + INFL, dl)
    call('ZADD', kf(node), n(lease), r[2])
    grew(K1_XF, call('ZADD', K1_XF, n(lease), rk))
    -- The ciphertext stays (counted) until the answer: a lapsed claim goes back to the queue.
    call('HSET', kr(rk), 'st', 'f', 'lu', n(lease), 'cl', '1')
    renew(node, now, 0)
    touch()
    return {1, ended, {r[1], r[2], r[5], r[6], r[7], r[3], r[4]}}
  end
end
renew(node, now, 0)
touch()
return {1, ended, {}}
