--[[
  Registers an API v1 node (or re-registers it, keeping its credential unless the first reply may have been lost).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] node key
    ARGV[3] capabilities (JSON)
    ARGV[4] context tier
    ARGV[5] max context tokens
    ARGV[6] max concurrency
    ARGV[7] model ids (JSON array)
    ARGV[8] credential digest (for a new node)
    ARGV[9] now (ms)
    ARGV[10] presented credential digest or ''
    ARGV[11] source
    ARGV[12] node record bytes

  Output:
    {1, created, credential issued}   created / issued: 1 | 0
    {0, reason}             invalid_control_credential | node_credential_required | relay_node_limit |
                            source_node_share_exceeded | source_bytes_share_exceeded
]]
--@include "prelude.lua"
local node, digest, now = ARGV[2], ARGV[8], tonumber(ARGV[9])
local presented, src, nb = ARGV[10], ARGV[11], tonumber(ARGV[12])
if call('EXISTS', kn(node)) == 1 then
  local refusal = ownerRefusal(node, presented)
  if refusal then return {0, refusal} end
  local h = call('HMGET', kn(node), 'bd', 'pl', 'src', 'b')
  -- Unbound, never polled, same address: the first reply (with the credential) may have been lost.
  local reissue = h[1] ~= '1' and h[2] ~= '1' and h[3] == src
  addBytes(nb - num(h[4]), h[3])
  call('HSET', kn(node), 'b', n(nb))
  if reissue then call('HSET', kn(node), 'digest', digest) end
  setCaps(node, ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
  renew(node, now, 0)
  touch()
  return {1, 0, reissue and 1 or 0}
end
if MAX_NODES_PS < MAX_NODES and num(call('HGET', K1_SRCN, src)) >= MAX_NODES_PS then return {0, 'source_node_share_exceeded'} end
if call('ZCARD', K1_NODES) >= MAX_NODES then return {0, 'relay_node_limit'} end
local refused = bytesRefusal(src, nb)
if refused == 'share' then return {0, 'source_bytes_share_exceeded'} end
if refused then return {0, 'relay_node_limit'} end
local seq = counter(K1_META, 'seq', 1)
call('HSET', kn(node), 'seq', seq, 'digest', digest, 'lease', n(now + LEASE), 'seen', n(now), 'src', src, 'b', n(nb))
hadd(K1_SRCN, src, 1)
addBytes(nb, src)
setCaps(node, ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
grew(K1_NODES, call('ZADD', K1_NODES, seq, node))
refreshAlive(node, now)
touch()
return {1, 1, 1}
