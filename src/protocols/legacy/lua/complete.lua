--[[
  Stores the answer to a client's oldest claimed request and wakes the client.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] client key
    ARGV[3] payload (JSON text, opaque)
    ARGV[4] response bytes
    ARGV[5] now (ms)
    ARGV[6] source

  Output:
    {1, replaced, enqueued}  replaced: 1 when an unretrieved answer was overwritten;
                            enqueued: the request's enqueue time (ms) or -1
    {0, reason}             answer_not_requested | response_store_full |
                            source_response_share_exceeded | source_bytes_share_exceeded
]]
--@include "prelude.lua"
local client, payload, bytes, now, src = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
-- Only a claimed, unanswered request may be answered.
dropExpiredJobs(client, now)
if not call('LINDEX', kj(client), 0) then return {0, 'answer_not_requested'} end
local rk = kr(client)
local previous = call('GET', rk)
local freed, prevSrc = 0, nil
if previous then local _, _, b, _, _, ps = parseResponse(previous) freed, prevSrc = b, ps end
local mine = prevSrc == src
if not mine and overShare(K_SRCRESP, src, 1, SH_RESP, MAX_RESP) then return {0, 'source_response_share_exceeded'} end
if not previous and call('ZCARD', K_XR) >= MAX_RESP then return {0, 'response_store_full'} end
local refusal = bytesRefusal(src, bytes, mine and freed or 0, freed)
if refusal == 'share' then return {0, 'source_bytes_share_exceeded'} end
if refusal then return {0, 'response_store_full'} end
local enqueued = finishJob(client, now)
if previous then
  bytesAdd(prevSrc, -freed)
  srcAdd(K_SRCRESP, prevSrc, -1)
end
local x = now + RESP_TTL
call('SET', rk, table.concat({n(x), n(now), n(bytes), n(enqueued), ''}, ' ') .. withSrc(src, payload), 'PX', RESP_TTL + GRACE)
grew(K_XR, call('ZADD', K_XR, n(x), client))
bytesAdd(src, bytes)
srcAdd(K_SRCRESP, src, 1)
touchIndexes()
call('PUBLISH', WAKE, 'r' .. client)
return {1, previous and 1 or 0, enqueued}
