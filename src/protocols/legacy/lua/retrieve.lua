--[[
  Takes (and deletes) a client's stored answer.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] client key
    ARGV[3] now (ms)

  Output:
    {stored at, enqueued at or -1, payload}, or false when there is none (or it expired)
]]
-- A miss (most polls) answers before the prelude runs: it reads and writes nothing else. The key
-- is the prelude's kr(client): <P>r:<client>.
if redis.call('EXISTS', string.sub(KEYS[1], 1, #KEYS[1] - 6) .. 'r:' .. ARGV[2]) == 0 then return false end
--@include "prelude.lua"
local client, now = ARGV[2], tonumber(ARGV[3])
local rk = kr(client)
local v = call('GET', rk)
if not v then return false end
local x, s, b, e, payload, src = parseResponse(v)
call('DEL', rk)
call('ZREM', K_XR, client)
bytesAdd(src, -b)
srcAdd(K_SRCRESP, src, -1)
if x <= now then return false end
return {n(s), n(e), payload}
