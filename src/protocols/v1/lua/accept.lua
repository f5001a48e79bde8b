--[[
  Accepts a node's answer to a claimed request, holds it for the client and wakes the client.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] client key
    ARGV[3] request id
    ARGV[4] ciphertext
    ARGV[5] cipherkey
    ARGV[6] iv
    ARGV[7] record bytes
    ARGV[8] now (ms)
    ARGV[9] answering node key or ''
    ARGV[10] presented credential digest or ''
    ARGV[11] source

  Output:
    {1, duplicate 0|1, ended}
    {0, 'request_gone', status, ended}
    {0, reason}             request_not_claimed | invalid_control_credential | node_credential_required |
                            response_store_full | source_bytes_share_exceeded
]]
--@include "prelude.lua"
local client, id, bytes, now = ARGV[2], ARGV[3], tonumber(ARGV[7]), tonumber(ARGV[8])
local claimer, presented, asrc = ARGV[9], ARGV[10], ARGV[11]
local rk = rkey(client, id)
local r = call('HMGET', kr(rk), 'st', 'dl', 'n', 'b', 'cl', 's', 'bs')
local st = r[1]
if st == 'q' or st == 'f' then
  local ended = {}
  if tonumber(r[2]) <= now then
    endReq(rk, 'expired', 'provider_timeout', now, ended)
    return {0, 'request_gone', 'expired', ended}
  end
  local node = r[3]
  -- Only the node it was handed to may answer (a lapsed, requeued claim still counts).
  if r[5] ~= '1' then return {0, 'request_not_claimed'} end
  if claimer ~= '' and claimer ~= node then return {0, 'invalid_control_credential'} end
  if call('EXISTS', kn(node)) == 1 then
    local refusal = ownerRefusal(node, presented)
    if refusal then return {0, refusal} end
  end
  local bs = r[7] or r[6] or '-'
  if asrc == '' then asrc = bs end
  local extra = bytes
  if asrc == bs then extra = bytes - num(r[4]) end
  local refused = bytesRefusal(asrc, extra)
  if refused == 'share' then return {0, 'source_bytes_share_exceeded'} end
  if refused then return {0, 'response_store_full'} end
  if call('ZREM', kq(node), rk) == 1 then hadd(kqs(node), r[6] or '-', -1) end
  call('ZREM', K1_XQ, rk)
  call('ZREM', K1_XA, rk)
  call('ZREM', K1_XF, rk)
  if call('HGET', ki(node), id) == rk then
    call('HDEL', ki(node), id)
    call('ZREM', kf(node), id)
    -- Answering is a sign of life.
    if st == 'f' and call('EXISTS', kn(node)) == 1 then renew(node, now, 0) end
  end
  -- An accepted answer proves the node (selection ranks it first from now on).
  if call('EXISTS', kn(node)) == 1 then call('HSET', kn(node), 'pv', '1') end
  clientDelta(client, -1)
  local hu = now + RESP_TTL
  call('HDEL', kr(rk), 'pc', 'pk', 'pi')
  call('HSET', kr(rk), 'st', 'h', 'ct', ARGV[4], 'ck', ARGV[5], 'iv', ARGV[6], 'ca', n(now), 'hu', n(hu), 'b', n(bytes), 'bs', asrc)
  call('PEXPIRE', kr(rk), INDEX_TTL)
  -- The answer's bytes belong to whoever sent it.
  addBytes(-num(r[4]), bs)
  addBytes(bytes, asrc)
  grew(K1_XH, call('ZADD', K1_XH, n(hu), rk))
  call('ZADD', kh(client), counter(K1_META, 'order', 1), rk)
  call('PEXPIRE', kh(client), INDEX_TTL)
  touch()
  wakeClient(client, id)
  return {1, 0, {'completed', 'completed'}}
end
if st == 'h' then return {1, 1, {}} end
local t = clientTomb(rk, now)
return {0, 'request_gone', t and t[1] or 'gone', {}}
