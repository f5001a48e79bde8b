--[[
  Queues a request for a node (every cap and share checked first) and wakes the node.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] node key
    ARGV[3] client key
    ARGV[4] payload (JSON text, opaque)
    ARGV[5] request bytes
    ARGV[6] stream: '1' | '0'
    ARGV[7] now (ms)
    ARGV[8] source

  Output:
    {1, queue depth}         queued
    {0, reason}             node_not_found | node_queue_full | client_queue_full | relay_queue_full |
                            source_queue_share_exceeded | source_bytes_share_exceeded
]]
--@include "prelude.lua"
local node, client, payload, bytes, stream, now, src = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7]), ARGV[8]
if not alive(node, now) then return {0, 'node_not_found'} end
dropExpiredHead(node, now)
local q = kq(node)
local depth = call('LLEN', q)
if overShare(kqs(node), src, 1, SH_QPN, MAX_QPN) then return {0, 'source_queue_share_exceeded'} end
if depth >= MAX_QPN then return {0, 'node_queue_full'} end
if num(call('HGET', K_QC, client)) >= MAX_QPC then return {0, 'client_queue_full'} end
if overShare(K_SRCQ, src, 1, SH_QUEUED, MAX_QUEUED) then return {0, 'source_queue_share_exceeded'} end
if num(call('HGET', K_COUNT, 'queued')) >= MAX_QUEUED then return {0, 'relay_queue_full'} end
local refusal = bytesRefusal(src, bytes)
if refusal == 'share' then return {0, 'source_bytes_share_exceeded'} end
if refusal then return {0, 'relay_queue_full'} end
local x = now + REQ_TTL
call('RPUSH', q, table.concat({n(x), n(now), n(bytes), stream, n(#client), ''}, ' ') .. client .. withSrc(src, payload))
call('PEXPIRE', q, REQ_TTL + GRACE)
if depth == 0 then grew(K_XQ, call('ZADD', K_XQ, n(x), node)) end
counter(K_COUNT, 'queued', 1)
bytesAdd(src, bytes)
srcAdd(K_SRCQ, src, 1)
srcAdd(kqs(node), src, 1)
call('PEXPIRE', kqs(node), REQ_TTL + GRACE)
counter(K_QC, client, 1)
touchIndexes()
call('PUBLISH', WAKE, 'w' .. node)
return {1, depth + 1}
