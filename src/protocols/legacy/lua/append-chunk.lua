--[[
  Appends a chunk to a stream session; the first final chunk answers the in-flight job.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] session id
    ARGV[3] chunk (JSON text, opaque)
    ARGV[4] final: '1' | '0'
    ARGV[5] now (ms)
    ARGV[6] source

  Output:
    'ok' | 'stream_session_not_found' | 'stream_session_full' | 'source_bytes_share_exceeded'
]]
--@include "prelude.lua"
local sid, chunk, final, now, src = ARGV[2], ARGV[3], ARGV[4] == '1', tonumber(ARGV[5]), ARGV[6]
local h = call('HMGET', ks(sid), 'x', 'c', 'a')
if not h[1] or tonumber(h[1]) <= now then return 'stream_session_not_found' end
if call('LLEN', ksc(sid)) >= MAX_CHUNKS then return 'stream_session_full' end
-- Chunks count against the byte cap, charged to the address that posts them.
local refusal = bytesRefusal(src, #chunk)
if refusal == 'share' then return 'source_bytes_share_exceeded' end
if refusal then return 'stream_session_full' end
local x = now + STREAM_TTL
call('RPUSH', ksc(sid), withSrc(src, chunk))
bytesAdd(src, #chunk)
call('HINCRBY', ks(sid), 'b:' .. src, #chunk)
call('HSET', ks(sid), 'x', n(x))
if final then
  call('HSET', ks(sid), 'f', 1)
  -- The first final chunk answers the stream request's in-flight job.
  if h[3] ~= '1' then
    call('HSET', ks(sid), 'a', 1)
    dropExpiredJobs(h[2], now)
    finishJob(h[2], now)
  end
end
call('PEXPIRE', ks(sid), STREAM_TTL + GRACE)
call('PEXPIRE', ksc(sid), STREAM_TTL + GRACE)
call('PEXPIRE', ksb(h[2]), STREAM_TTL + GRACE)
grew(K_XS, call('ZADD', K_XS, n(x), sid))
touchIndexes()
call('PUBLISH', WAKE, 'r' .. h[2])
return 'ok'
