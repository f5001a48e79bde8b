--[[
  Admits a request to a node's queue (idempotent by client key + request id and admission digest).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] node key
    ARGV[3] client key
    ARGV[4] request id
    ARGV[5] cancel token digest or ''
    ARGV[6] ciphertext
    ARGV[7] cipherkey
    ARGV[8] iv
    ARGV[9] record bytes
    ARGV[10] now (ms)
    ARGV[11] admission digest
    ARGV[12] source

  Output:
    {1, deadline (ms), queue depth[, 1]}   admitted; the trailing 1 marks a duplicate of an earlier admission
    {0, reason}             request_id_conflict | node_not_found | node_queue_full | client_queue_full |
                            relay_queue_full | source_* share refusals
]]
--@include "prelude.lua"
local node, client, id, cd = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local bytes, now, dg, src = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11], ARGV[12]
local rk = rkey(client, id)
-- Idempotent: the same id with the same bytes is the first admission (its reply may have been
-- lost to a timeout after this script ran); other bytes under a live id are a conflict.
local known = call('HMGET', kr(rk), 'st', 'dg', 'dl', 'n')
if known[1] then
  if known[2] ~= dg then return {0, 'request_id_conflict'} end
  return {1, known[3], call('ZCARD', kq(known[4])), 1}
end
local t = clientTomb(rk, now)
if t then
  if t[5] ~= dg then return {0, 'request_id_conflict'} end
  return {1, t[6], 0, 1}
end
if call('EXISTS', kn(node)) == 0 or not healthy(node, now) then return {0, 'node_not_found'} end
if call('HEXISTS', ki(node), id) == 1 then return {0, 'request_id_conflict'} end
if MAX_QPN_PS < MAX_QPN and num(call('HGET', kqs(node), src)) >= MAX_QPN_PS then return {0, 'source_queue_share_exceeded'} end
if call('ZCARD', kq(node)) >= MAX_QPN then return {0, 'node_queue_full'} end
if num(call('HGET', K1_QC, client)) >= MAX_QPC then return {0, 'client_queue_full'} end
if MAX_REQ_PS < MAX_REQ and num(call('HGET', K1_SRCR, src)) >= MAX_REQ_PS then return {0, 'source_request_share_exceeded'} end
if call('ZCARD', K1_XA) + call('ZCARD', K1_XH) >= MAX_REQ then return {0, 'relay_queue_full'} end
local refused = bytesRefusal(src, bytes)
if refused == 'share' then return {0, 'source_bytes_share_exceeded'} end
if refused then return {0, 'relay_queue_full'} end
local dl = now + DEADLINE
local order = counter(K1_META, 'order', 1)
local fields = {'c', client, 'i', id, 'n', node, 'at', n(now), 'dl', n(dl), 'st', 'q', 'ct', ARGV[6], 'ck', ARGV[7], 'iv', ARGV[8],
  'b', n(bytes), 'rb', n(bytes), 's', src, 'bs', src, 'dg', dg, 'o', order, 'lp', 0}
if cd ~= '' then fields[#fields + 1] = 'cd' fields[#fields + 1] = cd end
call('HSET', kr(rk), unpack(fields))
call('PEXPIRE', kr(rk), INDEX_TTL)
call('ZADD', kq(node), order, rk)
hadd(kqs(node), src, 1)
call('HSET', ki(node), id, rk)
grew(K1_XA, call('ZADD', K1_XA, n(dl), rk))
grew(K1_XQ, call('ZADD', K1_XQ, n(now), rk))
counter(K1_QC, client, 1)
hadd(K1_SRCR, src, 1)
addBytes(bytes, src)
refreshAlive(node, now)
touch()
wakeWork(node)
return {1, n(dl), call('ZCARD', kq(node))}
