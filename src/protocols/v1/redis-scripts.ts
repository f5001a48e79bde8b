// The API v1 transitions as Lua scripts, one per RelayStore method (contracts in types.ts), so
// each is atomic across replicas: two replicas never both claim a request, both deliver an
// answer, or both take the last slot under a cap. Selection runs here too, so the round-robin
// cursor and the load it reads are one consistent step. Replies use '' for "none" (Lua nil would
// cut an array short) and `ended` as a flat list of outcome, reason pairs.
import type { StoreLimits } from '../../store/types.js';
import { V1_HELPERS_LUA } from './redis-lua.js';
import { v1KeysLua } from './redis-keys.js';

const REGISTER = `
local node, digest, now = ARGV[1], ARGV[7], tonumber(ARGV[8])
local presented, src, nb = ARGV[9], ARGV[10], tonumber(ARGV[11])
if call('EXISTS', kn(node)) == 1 then
  local refusal = ownerRefusal(node, presented)
  if refusal then return {0, refusal} end
  local h = call('HMGET', kn(node), 'bd', 'pl', 'src', 'b')
  -- Unbound, never polled, same address: the first reply (with the credential) may have been lost.
  local reissue = h[1] ~= '1' and h[2] ~= '1' and h[3] == src
  addBytes(nb - num(h[4]), h[3])
  call('HSET', kn(node), 'b', n(nb))
  if reissue then call('HSET', kn(node), 'digest', digest) end
  setCaps(node, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
  renew(node, now, 0)
  touch()
  return {1, 0, reissue and 1 or 0}
end
if MAX_NODES_PS < MAX_NODES and num(call('HGET', K1_SRCN, src)) >= MAX_NODES_PS then return {0, 'source_node_share_exceeded'} end
if call('ZCARD', K1_NODES) >= MAX_NODES then return {0, 'relay_node_limit'} end
local refused = bytesRefusal(src, nb)
if refused == 'share' then return {0, 'source_bytes_share_exceeded'} end
if refused then return {0, 'relay_node_limit'} end
local seq = call('HINCRBY', K1_META, 'seq', 1)
call('HSET', kn(node), 'seq', seq, 'digest', digest, 'lease', n(now + LEASE), 'seen', n(now), 'src', src, 'b', n(nb))
hadd(K1_SRCN, src, 1)
addBytes(nb, src)
setCaps(node, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
call('ZADD', K1_NODES, seq, node)
refreshAlive(node, now)
touch()
return {1, 1, 1}
`;

const RENEW = `
local node, now, hold, presented, nb = ARGV[1], tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
if call('EXISTS', kn(node)) == 0 then return {0, 'node_not_found'} end
local refusal = ownerRefusal(node, presented)
if refusal then return {0, refusal} end
call('HSET', kn(node), 'pl', '1')
if ARGV[2] ~= '' then
  local h = call('HMGET', kn(node), 'src', 'b')
  addBytes(nb - num(h[2]), h[1])
  call('HSET', kn(node), 'b', n(nb))
  setCaps(node, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
end
renew(node, now, math.max(0, hold))
touch()
return {1}
`;

/**
 * Selection as src/protocols/v1/selection.ts (read its header): rank (proven, polled, registered;
 * every EXPLORE_EVERY-th pick explores rank 1), smallest capable tier, turns between sources,
 * least loaded within the source, round-robin after that source's cursor.
 */
const SELECT = `
local model, wanted, now = ARGV[1], TIERS[ARGV[2]], tonumber(ARGV[3])
local live, capLimited = 0, 0
local eligTiers, capTiers, elig = {}, {}, {}
local function bump(t, k) t[k] = (t[k] or 0) + 1 end
local function flat(t)
  local out = {}
  for k, v in pairs(t) do out[#out + 1] = k out[#out + 1] = v end
  return out
end
for _, node in ipairs(call('ZRANGE', K1_NODES, 0, -1)) do
  if healthy(node, now) then
    live = live + 1
    local h = call('HMGET', kn(node), 'seq', 'tier', 'mct', 'conc', 'models', 'src', 'pv', 'pl')
    local tokens = TIERS[h[2]] or 0
    if tokens >= wanted and num(h[3]) >= tokens then
      local match = false
      for _, m in ipairs(cjson.decode(h[5])) do
        if m == model then match = true break end
      end
      if match then
        local depth = call('ZCARD', kq(node))
        if depth >= MAX_QPN then
          capLimited = capLimited + 1
          bump(capTiers, h[2])
        else
          bump(eligTiers, h[2])
          local rank = 2
          if h[7] == '1' then rank = 0 elseif h[8] == '1' then rank = 1 end
          elig[#elig + 1] = {node = node, seq = tonumber(h[1]), tokens = tokens, depth = depth, conc = num(h[4]), src = h[6] or '-', rank = rank}
        end
      end
    end
  end
end
if #elig == 0 then
  local reason = 'no_matching_compute_node'
  if live == 0 then reason = 'no_registered_compute_nodes' elseif capLimited > 0 then reason = 'no_available_capacity' end
  return {0, reason, capLimited, flat(eligTiers), flat(capTiers)}
end
-- The rank: the best present, or rank 1 on an exploration turn (every EXPLORE_EVERY-th pick).
local picks = num(call('HGET', K1_META, 'picks')) + 1
local rank, hasExplore = 2, false
for _, c in ipairs(elig) do
  if c.rank < rank then rank = c.rank end
  if c.rank == 1 then hasExplore = true end
end
if picks % EXPLORE_EVERY == 0 and hasExplore then rank = 1 end
local smallest = math.huge
for _, c in ipairs(elig) do if c.rank == rank and c.tokens < smallest then smallest = c.tokens end end
-- Turns between sources (byte order, after the one picked last), whatever their load.
local sources, seen = {}, {}
for _, c in ipairs(elig) do
  if c.rank == rank and c.tokens == smallest and not seen[c.src] then
    seen[c.src] = true
    sources[#sources + 1] = c.src
  end
end
table.sort(sources)
local lastSrc = call('HGET', K1_META, 'csrc') or ''
local pickSrc = sources[1]
for _, sname in ipairs(sources) do
  if sname > lastSrc then pickSrc = sname break end
end
-- Within the source: least loaded, then the first tied one after its cursor (seq order).
local best, chosen, first = math.huge, nil, nil
for _, c in ipairs(elig) do
  if c.rank == rank and c.tokens == smallest and c.src == pickSrc then
    c.inflight = call('ZCOUNT', kf(c.node), '(' .. n(now), '+inf')
    -- The same rounding as loadOf(): Math.round(x * 1e6) / 1e6.
    c.score = math.floor((c.depth + c.inflight) / math.max(1, c.conc) * 1e6 + 0.5) / 1e6
    if c.score < best then best = c.score end
  end
end
local srcCursor = num(call('HGET', K1_SCUR, pickSrc))
for _, c in ipairs(elig) do
  if c.rank == rank and c.tokens == smallest and c.src == pickSrc and c.score == best then
    if first == nil then first = c end
    if chosen == nil and c.seq > srcCursor then chosen = c end
  end
end
chosen = chosen or first
call('HSET', K1_META, 'cursor', chosen.seq, 'csrc', pickSrc, 'picks', picks)
call('HSET', K1_SCUR, pickSrc, chosen.seq)
touch()
return {1, chosen.node, call('HGET', kn(chosen.node), 'caps'), chosen.depth, chosen.inflight, #elig, smallest > wanted and 1 or 0, flat(eligTiers), flat(capTiers)}
`;

const ADMIT = `
local node, client, id, cd = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local bytes, now, dg, src = tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10], ARGV[11]
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
local order = call('HINCRBY', K1_META, 'order', 1)
local fields = {'c', client, 'i', id, 'n', node, 'at', n(now), 'dl', n(dl), 'st', 'q', 'ct', ARGV[5], 'ck', ARGV[6], 'iv', ARGV[7],
  'b', n(bytes), 'rb', n(bytes), 's', src, 'bs', src, 'dg', dg, 'o', order, 'lp', 0}
if cd ~= '' then fields[#fields + 1] = 'cd' fields[#fields + 1] = cd end
call('HSET', kr(rk), unpack(fields))
call('PEXPIRE', kr(rk), INDEX_TTL)
call('ZADD', kq(node), order, rk)
hadd(kqs(node), src, 1)
call('HSET', ki(node), id, rk)
call('ZADD', K1_XA, n(dl), rk)
call('ZADD', K1_XQ, n(now), rk)
call('HINCRBY', K1_QC, client, 1)
hadd(K1_SRCR, src, 1)
addBytes(bytes, src)
refreshAlive(node, now)
touch()
wakeWork(node)
return {1, n(dl), call('ZCARD', kq(node))}
`;

const CLAIM = `
local node, now = ARGV[1], tonumber(ARGV[2])
if call('EXISTS', kn(node)) == 0 then return {0, 'node_not_found'} end
local refusal = ownerRefusal(node, ARGV[3])
if refusal then return {0, refusal} end
local ended = {}
while true do
  local rk = call('ZRANGE', kq(node), 0, 0)[1]
  if not rk then break end
  local r = call('HMGET', kr(rk), 'c', 'i', 'at', 'dl', 'ct', 'ck', 'iv', 's')
  local dl = tonumber(r[4])
  if dl <= now then
    endReq(rk, 'expired', 'provider_timeout', now, ended)
  else
    call('ZREM', kq(node), rk)
    hadd(kqs(node), r[8] or '-', -1)
    call('ZREM', K1_XQ, rk)
    local lease = math.min(now + INFL, dl)
    call('ZADD', kf(node), n(lease), r[2])
    call('ZADD', K1_XF, n(lease), rk)
    -- The ciphertext stays (counted) until the answer: a lapsed claim goes back to the queue.
    call('HSET', kr(rk), 'st', 'f', 'lu', n(lease), 'cl', '1')
    renew(node, now, 0)
    touch()
    return {1, ended, {r[1], r[2], r[5], r[6], r[7], r[3], r[4]}}
  end
end
renew(node, now, 0)
touch()
return {1, ended, {}}
`;

const CONTROL = `
local node, id, digest, ack, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
local known = call('EXISTS', kn(node)) == 1
if known then
  if digest == '' or digest ~= call('HGET', kn(node), 'digest') then return {0} end
  local rk = call('HGET', ki(node), id)
  local r = rk and call('HMGET', kr(rk), 'st', 'dl') or {}
  if r[1] == 'f' then
    local dl = tonumber(r[2])
    if dl <= now then
      local ended = {}
      endReq(rk, 'expired', 'provider_timeout', now, ended)
      return {1, 'expired', n(dl), 0, ended}
    end
    local lease = math.min(now + INFL, dl)
    call('ZADD', kf(node), n(lease), id)
    call('ZADD', K1_XF, n(lease), rk)
    call('HSET', kr(rk), 'lu', n(lease))
    local seen = num(call('HGET', kn(node), 'seen'))
    if now > seen then call('HSET', kn(node), 'seen', n(now)) end
    refreshAlive(node, now)
    touch()
    return {1, 'active', n(dl)}
  end
end
local rk = call('HGET', knt(node), id)
local t = rk and call('HMGET', kt(rk), 'st', 'dl', 'od', 'nu', 'cu') or {}
local visible = t[4] and tonumber(t[4]) > now
if not visible or digest == '' or t[3] ~= digest then
  if known then return {1, 'unavailable'} end
  return {0}
end
if t[1] == 'completed' then return {1, 'unavailable'} end
if ack then
  call('HSET', kt(rk), 'nu', 0)
  call('HDEL', knt(node), id)
  call('ZADD', K1_XT, t[5], rk)
end
return {1, t[1], t[2], ack and 1 or 0, {}}
`;

const ACCEPT = `
local client, id, bytes, now = ARGV[1], ARGV[2], tonumber(ARGV[6]), tonumber(ARGV[7])
local claimer, presented, asrc = ARGV[8], ARGV[9], ARGV[10]
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
  call('HSET', kr(rk), 'st', 'h', 'ct', ARGV[3], 'ck', ARGV[4], 'iv', ARGV[5], 'ca', n(now), 'hu', n(hu), 'b', n(bytes), 'bs', asrc)
  call('PEXPIRE', kr(rk), INDEX_TTL)
  -- The answer's bytes belong to whoever sent it.
  addBytes(-num(r[4]), bs)
  addBytes(bytes, asrc)
  call('ZADD', K1_XH, n(hu), rk)
  call('ZADD', kh(client), call('HINCRBY', K1_META, 'order', 1), rk)
  call('PEXPIRE', kh(client), INDEX_TTL)
  touch()
  wakeClient(client, id)
  return {1, 0, {'completed', 'completed'}}
end
if st == 'h' then return {1, 1, {}} end
local t = clientTomb(rk, now)
return {0, 'request_gone', t and t[1] or 'gone', {}}
`;

const RETRIEVE = `
local client, id, now, ack = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local function pop(rk)
  local r = call('HMGET', kr(rk), 'i', 'ct', 'ck', 'iv', 'at', 'ca', 'dl', 'b', 's', 'bs', 'dg')
  call('ZREM', K1_XH, rk)
  call('ZREM', kh(client), rk)
  addBytes(-num(r[8]), r[10] or r[9])
  hadd(K1_SRCR, r[9] or '-', -1)
  call('DEL', kr(rk))
  bury(rk, client, r[1], 'completed', 'completed', false, tonumber(r[7]), now, nil, nil, r[11], r[9])
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
return {'unknown'}
`;

const CANCEL = `
local client, id, digest, status, reason, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local rk = rkey(client, id)
local r = call('HMGET', kr(rk), 'st', 'cd', 'dl')
if r[1] then
  if not r[2] or r[2] ~= digest then return {0} end
  local ended = {}
  if r[1] ~= 'h' and tonumber(r[3]) <= now then
    endReq(rk, 'expired', 'provider_timeout', now, ended)
    touch()
    return {1, 'expired', 0, ended}
  end
  local removed = r[1] == 'q' and 1 or 0
  endReq(rk, status, reason, now, ended)
  touch()
  return {1, status, removed, ended}
end
local t = clientTomb(rk, now)
if t and t[1] ~= 'completed' and t[3] and t[3] == digest then return {1, t[1], 0, {}} end
return {0}
`;

const PROGRESS = `
local node, digest, client, id, bytes, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[8]), tonumber(ARGV[9])
local owner = call('HGET', kn(node), 'digest')
if not owner or owner ~= digest then return {0, 'forbidden'} end
local rk = call('HGET', ki(node), id)
local r = rk and call('HMGET', kr(rk), 'st', 'c', 'dl', 'pc', 'b', 'rb', 'bs') or {}
if r[1] ~= 'f' or r[2] ~= client or tonumber(r[3]) <= now then return {0, 'not_active'} end
-- The record holds the request ciphertext (rb) plus one progress record.
local total = num(r[6]) + bytes
local refused = bytesRefusal(r[7], total - num(r[5]))
if refused == 'share' then return {0, 'source_bytes_share_exceeded'} end
if refused then return {0, 'response_store_full'} end
call('HSET', kr(rk), 'pc', ARGV[5], 'pk', ARGV[6], 'pi', ARGV[7], 'b', n(total))
addBytes(total - num(r[5]), r[7])
touch()
wakeClient(client, id)
return {1, r[4] and 1 or 0}
`;

const UNREGISTER = `
local node, digest, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local owner = call('HGET', kn(node), 'digest')
if not owner then return {1, 0, {}} end
if digest == '' or digest ~= owner then return {0} end
local ended = {}
removeNode(node, now, ended)
touch()
return {1, 1, ended}
`;

/** One bounded step of the v1 sweep; "more" tells the caller to step again. */
const EXPIRE = `
local now = tonumber(ARGV[1])
local ended = {}
local more = false
local due = call('ZRANGEBYSCORE', K1_XA, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, rk in ipairs(due) do endReq(rk, 'expired', 'provider_timeout', now, ended) end
more = more or #due == BATCH
local responses = 0
due = call('ZRANGEBYSCORE', K1_XH, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, rk in ipairs(due) do
  endReq(rk, 'expired', 'expired', now, ended)
  responses = responses + 1
end
more = more or #due == BATCH
-- Claims whose claimer stopped control-polling: back to the head of their node's queue (their
-- admission order), or, after MAX_RECLAIMS lapses, ended as expired/claimer_lost. This runs
-- before node eviction, which would otherwise cancel them with a lapsed node.
local requeued = 0
due = call('ZRANGEBYSCORE', K1_XF, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, rk in ipairs(due) do
  local r = call('HMGET', kr(rk), 'st', 'n', 'i', 'lp', 's', 'o', 'at', 'b', 'rb', 'bs')
  if r[1] ~= 'f' then
    call('ZREM', K1_XF, rk)
  elseif num(r[4]) >= MAX_RECLAIMS then
    endReq(rk, 'expired', 'claimer_lost', now, ended)
  else
    local node = r[2]
    call('ZREM', K1_XF, rk)
    call('ZREM', kf(node), r[3])
    call('HDEL', kr(rk), 'pc', 'pk', 'pi')
    call('HSET', kr(rk), 'st', 'q', 'lu', 0, 'lp', num(r[4]) + 1, 'b', n(num(r[9])))
    addBytes(num(r[9]) - num(r[8]), r[10])
    call('ZADD', kq(node), r[6], rk)
    hadd(kqs(node), r[5] or '-', 1)
    call('ZADD', K1_XQ, r[7], rk)
    refreshAlive(node, now)
    wakeWork(node)
    requeued = requeued + 1
  end
end
more = more or #due == BATCH
local evicted = 0
due = call('ZRANGEBYSCORE', K1_ALIVE, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, node in ipairs(due) do
  if call('EXISTS', kn(node)) == 0 then
    call('ZREM', K1_ALIVE, node)
    call('ZREM', K1_NODES, node)
  elseif refreshAlive(node, now) <= now then
    removeNode(node, now, ended)
    evicted = evicted + 1
  end
end
more = more or #due == BATCH
due = call('ZRANGEBYSCORE', K1_XT, '-inf', n(now), 'LIMIT', 0, BATCH)
for _, rk in ipairs(due) do dropTomb(rk) end
more = more or #due == BATCH
if requeued > 0 then touch() end
return {evicted, responses, #due, more and 1 or 0, ended, requeued}
`;

const STATS = `
local now = tonumber(ARGV[1])
local head = call('ZRANGE', K1_XQ, 0, 0, 'WITHSCORES')
local queued, active = call('ZCARD', K1_XQ), call('ZCARD', K1_XA)
return {
  call('ZCARD', K1_NODES), call('ZCOUNT', K1_ALIVE, '(' .. n(now), '+inf'), queued, active - queued,
  call('ZCARD', K1_XH), call('ZCARD', K1_XT), head[2] or '-1', num(call('HGET', K_COUNT, 'bytes')),
}
`;

/** Healthy nodes in registration order: total, and the first `limit` with their counters. */
const LIST = `
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local total, views = 0, {}
for _, node in ipairs(call('ZRANGE', K1_NODES, 0, -1)) do
  if healthy(node, now) then
    total = total + 1
    if #views < limit then
      local h = call('HMGET', kn(node), 'seen', 'caps')
      views[#views + 1] = {node, h[1], call('ZCARD', kq(node)), call('ZCOUNT', kf(node), '(' .. n(now), '+inf'), h[2]}
    end
  end
end
return {total, views}
`;

export const V1_SCRIPT_NAMES = [
  'v1Register',
  'v1Renew',
  'v1Select',
  'v1Admit',
  'v1Claim',
  'v1Control',
  'v1Accept',
  'v1Retrieve',
  'v1Cancel',
  'v1Progress',
  'v1Unregister',
  'v1Expire',
  'v1Stats',
  'v1List',
] as const;
export type V1ScriptName = (typeof V1_SCRIPT_NAMES)[number];

const BODIES: Record<V1ScriptName, string> = {
  v1Register: REGISTER,
  v1Renew: RENEW,
  v1Select: SELECT,
  v1Admit: ADMIT,
  v1Claim: CLAIM,
  v1Control: CONTROL,
  v1Accept: ACCEPT,
  v1Retrieve: RETRIEVE,
  v1Cancel: CANCEL,
  v1Progress: PROGRESS,
  v1Unregister: UNREGISTER,
  v1Expire: EXPIRE,
  v1Stats: STATS,
  v1List: LIST,
};

/** Full script sources for one store: constants and keys, shared helpers, transition body. */
export function buildV1Scripts(prefix: string, limits: StoreLimits): Record<V1ScriptName, string> {
  const head = v1KeysLua(prefix, limits) + V1_HELPERS_LUA;
  const out = {} as Record<V1ScriptName, string>;
  for (const name of V1_SCRIPT_NAMES) out[name] = head + BODIES[name];
  return out;
}
