--[[
  API v1 helpers every v1 script shares (after prelude.lua): node liveness, tombstones, and
  ending a request. They mirror src/protocols/v1/memory.ts step for step, so the two backends
  pass one contract suite.
]]
-- alive-until = max(lease, longest running in-flight lease), recomputed whenever either changes
-- (a request ending early must not keep its node healthy). Node keys get a native TTL past it.
local function refreshAlive(node, now)
  local lease = call('HGET', kn(node), 'lease')
  if not lease then return 0 end
  local untilAt = tonumber(lease)
  local top = call('ZRANGE', kf(node), -1, -1, 'WITHSCORES')
  if top[2] and tonumber(top[2]) > untilAt then untilAt = tonumber(top[2]) end
  grew(K1_ALIVE, call('ZADD', K1_ALIVE, n(untilAt), node))
  local ttl = INDEX_TTL + math.max(0, untilAt - now)
  for _, k in ipairs({kn(node), kq(node), kf(node), ki(node), kqs(node)}) do call('PEXPIRE', k, ttl) end
  return untilAt
end

local function healthy(node, now)
  local s = call('ZSCORE', K1_ALIVE, node)
  return s ~= false and tonumber(s) > now
end

local function renew(node, now, extra)
  local h = call('HMGET', kn(node), 'lease', 'seen')
  call('HSET', kn(node), 'lease', n(math.max(tonumber(h[1]), now + LEASE + extra)), 'seen', n(math.max(tonumber(h[2]), now)))
  refreshAlive(node, now)
end

local function setCaps(node, caps, tier, mct, conc, models)
  call('HSET', kn(node), 'caps', caps, 'tier', tier, 'mct', mct, 'conc', conc, 'models', models)
end

local function clientDelta(client, d)
  hadd(K1_QC, client, d)
end

-- Sticky opt-in ownership: a presented credential digest must be the node's and binds it; a
-- bound node is refused without one. nil when the call may go on.
local function ownerRefusal(node, presented)
  local h = call('HMGET', kn(node), 'digest', 'bd')
  if presented ~= nil and presented ~= '' then
    if presented ~= h[1] then return 'invalid_control_credential' end
    if h[2] ~= '1' then call('HSET', kn(node), 'bd', '1') end
    return nil
  end
  if h[2] == '1' then return 'node_credential_required' end
  return nil
end

local function dropTomb(rk)
  local t = call('HMGET', kt(rk), 'nk', 'i', 's', 'b', 'rb', 'rbs')
  addBytes(-num(t[4]), t[3])
  if t[5] then
    addBytes(-num(t[5]), t[6])
    call('ZREM', K1_XR, rk)
  end
  call('DEL', kt(rk))
  call('ZREM', K1_XT, rk)
  if t[1] and call('HGET', knt(t[1]), t[2]) == rk then call('HDEL', knt(t[1]), t[2]) end
end

-- A tombstone: the client learns the outcome for TERM_TTL; the node that held the request in
-- flight (nodeKey, with its credential digest as owner) for CTRL_TTL. Bounded: the ones closest
-- to their end make room.
local function bury(rk, client, id, status, reason, cd, dl, now, nodeKey, owner, dg, src)
  if call('EXISTS', kt(rk)) == 1 then dropTomb(rk) end
  while call('ZCARD', K1_XT) >= MAX_TOMBS do
    local oldest = call('ZRANGE', K1_XT, 0, 0)[1]
    if not oldest then break end
    dropTomb(oldest)
  end
  local cu = now + TERM_TTL
  local nu = 0
  local fields = {'c', client, 'i', id, 'st', status, 'rs', reason, 'dl', n(dl), 'cu', n(cu)}
  if cd then fields[#fields + 1] = 'cd' fields[#fields + 1] = cd end
  if nodeKey then
    nu = now + CTRL_TTL
    for _, v in ipairs({'nk', nodeKey, 'od', owner}) do fields[#fields + 1] = v end
    call('HSET', knt(nodeKey), id, rk)
    call('PEXPIRE', knt(nodeKey), INDEX_TTL)
  end
  -- Tombstones are never refused (an end cannot be), but their bytes count at the source.
  local tb = TOMB_OVERHEAD + #client + #id + (nodeKey and #nodeKey or 0)
  for _, v in ipairs({'nu', n(nu), 'dg', dg or '', 's', src or '-', 'b', n(tb)}) do fields[#fields + 1] = v end
  addBytes(tb, src or '-')
  call('HSET', kt(rk), unpack(fields))
  call('PEXPIRE', kt(rk), INDEX_TTL)
  grew(K1_XT, call('ZADD', K1_XT, n(math.max(cu, nu)), rk))
end

-- The last hand-out of an answer (an ack, or a retrieve without id) may never reach its client
-- (a timeout, a failover): the answer stays on the tombstone, fetchable by id for REPLAY, its
-- bytes still charged to the source that sent it (memory.ts: Replay).
local function keepReplay(rk, ct, ck, iv, at, ca, src, now)
  local rb = #ct + #ck + #iv
  addBytes(rb, src)
  call('HSET', kt(rk), 'rct', ct, 'rck', ck, 'riv', iv, 'rat', at, 'rca', ca, 'ru', n(now + REPLAY), 'rb', n(rb), 'rbs', src)
  grew(K1_XR, call('ZADD', K1_XR, n(now + REPLAY), rk))
end

local function dropReplay(rk)
  local t = call('HMGET', kt(rk), 'rb', 'rbs')
  call('ZREM', K1_XR, rk)
  if not t[1] then return end
  addBytes(-num(t[1]), t[2])
  call('HDEL', kt(rk), 'rct', 'rck', 'riv', 'rat', 'rca', 'ru', 'rb', 'rbs')
end

-- The tombstone a client may read: {status, reason, cancel digest or false, until, admission
-- digest, deadline}, or nil.
local function clientTomb(rk, now)
  local t = call('HMGET', kt(rk), 'st', 'rs', 'cd', 'cu', 'dg', 'dl')
  if t[4] and tonumber(t[4]) > now then return t end
  return nil
end

-- Ends a request (queued, in flight or held): out of every index, ciphertext released, a
-- tombstone left, the waiting client woken. A request still active is appended to ended
-- (outcome, reason) exactly once.
local function endReq(rk, status, reason, now, ended)
  local r = call('HMGET', kr(rk), 'c', 'i', 'n', 'cd', 'dl', 'st', 'b', 's', 'bs', 'dg')
  local client, id, node, st = r[1], r[2], r[3], r[6]
  if not st then return end
  local owner = false
  hadd(K1_SRCR, r[8] or '-', -1)
  if st == 'h' then
    call('ZREM', K1_XH, rk)
    call('ZREM', kh(client), rk)
  else
    call('ZREM', K1_XA, rk)
    call('ZREM', K1_XQ, rk)
    call('ZREM', K1_XF, rk)
    if call('ZREM', kq(node), rk) == 1 then hadd(kqs(node), r[8] or '-', -1) end
    if call('HGET', ki(node), id) == rk then
      call('HDEL', ki(node), id)
      call('ZREM', kf(node), id)
    end
    clientDelta(client, -1)
    ended[#ended + 1] = reason == 'provider_timeout' and 'timed_out' or status
    ended[#ended + 1] = reason
    if st == 'f' then
      owner = call('HGET', kn(node), 'digest')
      if owner then refreshAlive(node, now) end
    end
  end
  addBytes(-num(r[7]), r[9] or r[8])
  call('DEL', kr(rk))
  bury(rk, client, id, status, reason, r[4], tonumber(r[5]), now, owner and node or nil, owner, r[10], r[8])
  wakeClient(client, id)
end

-- Its queued and in-flight work ends as cancelled/server_unregistered; held polls wake.
local function removeNode(node, now, ended)
  for _, rk in ipairs(call('ZRANGE', kq(node), 0, -1)) do endReq(rk, 'cancelled', 'server_unregistered', now, ended) end
  for _, id in ipairs(call('ZRANGE', kf(node), 0, -1)) do
    local rk = call('HGET', ki(node), id)
    if rk then endReq(rk, 'cancelled', 'server_unregistered', now, ended) end
  end
  local h = call('HMGET', kn(node), 'src', 'b')
  local src = h[1] or '-'
  addBytes(-num(h[2]), src)
  hadd(K1_SRCN, src, -1)
  if not call('HGET', K1_SRCN, src) then call('HDEL', K1_SCUR, src) end
  call('DEL', kn(node), kq(node), kf(node), ki(node), kqs(node))
  call('ZREM', K1_NODES, node)
  call('ZREM', K1_ALIVE, node)
  wakeWork(node)
end
