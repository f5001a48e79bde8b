--[[
  Takes every chunk a client's current stream session holds; a final session closes.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] client key
    ARGV[3] now (ms)

  Output:
    {session id, final '1'|'0', {chunk, ...}}, or false when the client has no live session
]]
--@include "prelude.lua"
local client, now = ARGV[2], tonumber(ARGV[3])
local sid = call('GET', ksb(client))
if not sid then return false end
local h = call('HMGET', ks(sid), 'x', 'd', 'f')
if not h[1] or tonumber(h[1]) <= now then return false end
-- Delivered chunks are not kept: each is freed (and its bytes released to its poster) at once.
local rows = call('LRANGE', ksc(sid), 0, -1)
call('DEL', ksc(sid))
local chunks = {}
for i, row in ipairs(rows) do
  local src, text = splitSrc(row)
  chunks[i] = text
  bytesAdd(src, -#text)
  if call('HINCRBY', ks(sid), 'b:' .. src, -#text) <= 0 then call('HDEL', ks(sid), 'b:' .. src) end
end
local final = h[3] == '1'
if final then closeStream(sid) end
return {sid, final and '1' or '0', chunks}
