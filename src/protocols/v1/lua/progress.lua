--[[
  A node stores (replaces) the progress ciphertext of a request in flight.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] node key
    ARGV[3] credential digest
    ARGV[4] client key
    ARGV[5] request id
    ARGV[6] ciphertext
    ARGV[7] cipherkey
    ARGV[8] iv
    ARGV[9] bytes
    ARGV[10] now (ms)

  Output:
    {1, replaced 0|1}
    {0, reason}             forbidden | not_active | response_store_full | source_bytes_share_exceeded
]]
--@include "prelude.lua"
local node, digest, client, id, bytes, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[9]), tonumber(ARGV[10])
local owner = call('HGET', kn(node), 'digest')
if not owner or owner ~= digest then return {0, 'forbidden'} end
local rk = call('HGET', ki(node), id)
local r = rk and call('HMGET', kr(rk), 'st', 'c', 'dl', 'pc', 'b', 'rb', 'bs') or {}
if r[1] ~= 'f' or r[2] ~= client or tonumber(r[3]) <= now then return {0, 'not_active'} end
-- The record holds the request ciphertext (rb) plus one progress record.
local total = num(r[6]) + bytes
local refused = bytesRefusal(r[7], total - num(r[5]))
if refused == 'share' then return {0, 'source_bytes_share_exceeded'} end
if refused then return {0, 'response_store_full'} end
call('HSET', kr(rk), 'pc', ARGV[6], 'pk', ARGV[7], 'pi', ARGV[8], 'b', n(total))
addBytes(total - num(r[5]), r[7])
touch()
wakeClient(client, id)
return {1, r[4] and 1 or 0}
