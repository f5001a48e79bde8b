--[[
  A client polls for a request's answer (by id, or its oldest held answer); ack ends it, and its
  answer stays fetchable by id for the replay window (helpers.lua keepReplay).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] client key
    ARGV[3] request id or ''
    ARGV[4] now (ms)
    ARGV[5] ack: '1' | '0'

  Output:
    {'response', ciphertext, cipherkey, iv, request id, admitted at, completed at}
    {'pending', deadline[, progress ciphertext, cipherkey, iv]}
    {'terminal', status, reason, ended}
    {'unknown'}
]]
-- A request still queued or in flight, with no progress to hand over and its deadline ahead (most
-- held-poll checks), answers before the prelude runs: that path reads and writes nothing else.
-- The key is the prelude's kr(rkey(client, id)): <P>v1:r:<#client>:<client><id>.
if ARGV[3] ~= '' then
  local c = ARGV[2]
  local early = redis.call('HMGET', string.sub(KEYS[1], 1, #KEYS[1] - 6) .. 'v1:r:' .. #c .. ':' .. c .. ARGV[3], 'st', 'dl', 'pc')
  if (early[1] == 'q' or early[1] == 'f') and not early[3] and tonumber(early[2]) > tonumber(ARGV[4]) then return {'pending', early[2]} end
end
--@include "prelude.lua"
local client, id, now, ack = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5] == '1'
local function pop(rk)
  local r = call('HMGET', kr(rk), 'i', 'ct', 'ck', 'iv', 'at', 'ca', 'dl', 'b', 's', 'bs', 'dg')
  call('ZREM', K1_XH, rk)
  call('ZREM', kh(client), rk)
  addBytes(-num(r[8]), r[10] or r[9])
  hadd(K1_SRCR, r[9] or '-', -1)
  call('DEL', kr(rk))
  bury(rk, client, r[1], 'completed', 'completed', false, tonumber(r[7]), now, nil, nil, r[11], r[9])
  keepReplay(rk, r[2], r[3], r[4], r[5], r[6], r[10] or r[9] or '-', now)
  touch()
  return {'response', r[2], r[3], r[4], r[1], r[5], r[6]}
end
-- Repeatable: a held answer is handed out and kept until the client acks or it expires.
local function peek(rk)
  local r = call('HMGET', kr(rk), 'i', 'ct', 'ck', 'iv', 'at', 'ca')
  return {'response', r[2], r[3], r[4], r[1], r[5], r[6]}
end
if id == '' then
  for _, rk in ipairs(call('ZRANGE', kh(client), 0, -1)) do
    if num(call('HGET', kr(rk), 'hu')) > now then return pop(rk) end
  end
  return {'unknown'}
end
local rk = rkey(client, id)
local r = call('HMGET', kr(rk), 'st', 'hu', 'dl', 'pc', 'pk', 'pi', 'b', 'rb', 'bs')
if r[1] == 'h' then
  if tonumber(r[2]) > now then
    if ack then return pop(rk) end
    return peek(rk)
  end
  endReq(rk, 'expired', 'expired', now, {})
  touch()
  return {'terminal', 'expired', 'expired', {}}
end
if r[1] == 'q' or r[1] == 'f' then
  if tonumber(r[3]) <= now then
    local ended = {}
    endReq(rk, 'expired', 'provider_timeout', now, ended)
    touch()
    return {'terminal', 'expired', 'provider_timeout', ended}
  end
  if r[4] then
    -- The record keeps the request ciphertext (rb) and drops the progress.
    call('HDEL', kr(rk), 'pc', 'pk', 'pi')
    call('HSET', kr(rk), 'b', n(num(r[8])))
    addBytes(num(r[8]) - num(r[7]), r[9])
    return {'pending', r[3], r[4], r[5], r[6]}
  end
  return {'pending', r[3]}
end
local t = clientTomb(rk, now)
if t and t[1] ~= 'completed' then return {'terminal', t[1], t[2], {}} end
if t then
  local rp = call('HMGET', kt(rk), 'ru', 'rct', 'rck', 'riv', 'rat', 'rca')
  if rp[1] and tonumber(rp[1]) > now then return {'response', rp[2], rp[3], rp[4], id, rp[5], rp[6]} end
end
return {'unknown'}
