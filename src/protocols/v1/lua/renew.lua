--[[
  Renews a node's lease (held polls extend it by the hold), optionally replacing its capabilities.

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] node key
    ARGV[3] capabilities (JSON) or '' to keep
    ARGV[4] context tier or ''
    ARGV[5] max context tokens or ''
    ARGV[6] max concurrency or ''
    ARGV[7] model ids (JSON) or ''
    ARGV[8] now (ms)
    ARGV[9] hold (ms)
    ARGV[10] presented credential digest or ''
    ARGV[11] node record bytes (0 when capabilities are kept)

  Output:
    {1}                     renewed
    {0, reason}             node_not_found | invalid_control_credential | node_credential_required | bytes refusals
]]
--@include "prelude.lua"
local node, now, hold, presented, nb = ARGV[2], tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10], tonumber(ARGV[11])
if call('EXISTS', kn(node)) == 0 then return {0, 'node_not_found'} end
local refusal = ownerRefusal(node, presented)
if refusal then return {0, refusal} end
call('HSET', kn(node), 'pl', '1')
if ARGV[3] ~= '' then
  local h = call('HMGET', kn(node), 'src', 'b')
  addBytes(nb - num(h[2]), h[1])
  call('HSET', kn(node), 'b', n(nb))
  setCaps(node, ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
end
renew(node, now, math.max(0, hold))
touch()
return {1}
