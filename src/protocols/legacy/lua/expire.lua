--[[
  One bounded sweep step over every legacy index (at most sweepBatch entries each).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] now (ms)

  Output:
    {nodes, requests, responses, streams, more}   counts expired; more: 1 = step again
]]
--@include "prelude.lua"
local now = tonumber(ARGV[2])
local nodes = expireNodes(now, BATCH)
local more = nodes == BATCH
local requests = 0
local due = call('ZRANGEBYSCORE', K_XQ, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, node in ipairs(due) do requests = requests + dropExpiredHead(node, now) end
more = more or #due == BATCH
due = call('ZRANGEBYSCORE', K_XJ, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, client in ipairs(due) do dropExpiredJobs(client, now) end
more = more or #due == BATCH
local responses = 0
due = call('ZRANGEBYSCORE', K_XR, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, client in ipairs(due) do
  local v = call('GET', kr(client))
  if v then
    local _, _, b, _, _, src = parseResponse(v)
    bytesAdd(src, -b)
    srcAdd(K_SRCRESP, src, -1)
    call('DEL', kr(client))
  end
  call('ZREM', K_XR, client)
  responses = responses + 1
end
more = more or #due == BATCH
due = call('ZRANGEBYSCORE', K_XS, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, sid in ipairs(due) do closeStream(sid) end
more = more or #due == BATCH
return {nodes, requests, responses, #due, more and 1 or 0}
