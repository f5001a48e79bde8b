// The API v1 transitions as Lua scripts, one per RelayStore method (contracts in types.ts), so
// each is atomic across replicas: two replicas never both claim a request, both deliver an
// answer, or both take the last slot under a cap. Selection runs here too, so the round-robin
// cursor and the load it reads are one consistent step. Replies use '' for "none" (Lua nil would
// cut an array short) and `ended` as a flat list of outcome, reason pairs.
import type { StoreLimits } from '../types.js';
import { V1_HELPERS_LUA } from './v1-lua.js';
import { v1KeysLua } from './v1-keys.js';

const REGISTER = `
local node, digest, now = ARGV[1], ARGV[7], tonumber(ARGV[8])
if call('EXISTS', kn(node)) == 1 then
  setCaps(node, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
  renew(node, now, 0)
  touch()
  return {1, 0}
end
if call('ZCARD', K1_NODES) >= MAX_NODES then return {0} end
local seq = call('HINCRBY', K1_META, 'seq', 1)
call('HSET', kn(node), 'seq', seq, 'digest', digest, 'lease', n(now + LEASE), 'seen', n(now))
setCaps(node, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
call('ZADD', K1_NODES, seq, node)
refreshAlive(node, now)
touch()
return {1, 1}
`;

const RENEW = `
local node, now, hold = ARGV[1], tonumber(ARGV[7]), tonumber(ARGV[8])
if call('EXISTS', kn(node)) == 0 then return 0 end
if ARGV[2] ~= '' then setCaps(node, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) end
renew(node, now, math.max(0, hold))
touch()
return 1
`;

/** Best fit as src/store/v1-selection.ts: smallest capable tier, least loaded, round-robin. */
const SELECT = `
local model, wanted, now = ARGV[1], TIERS[ARGV[2]], tonumber(ARGV[3])
local cursor = num(call('HGET', K1_META, 'cursor'))
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
    local h = call('HMGET', kn(node), 'seq', 'tier', 'mct', 'conc', 'models')
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
          elig[#elig + 1] = {node = node, seq = tonumber(h[1]), tokens = tokens, depth = depth, conc = num(h[4])}
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
local smallest = math.huge
for _, c in ipairs(elig) do if c.tokens < smallest then smallest = c.tokens end end
local best, chosen, first = math.huge, nil, nil
for _, c in ipairs(elig) do
  if c.tokens == smallest then
    c.inflight = call('ZCOUNT', kf(c.node), '(' .. n(now), '+inf')
    -- The same rounding as loadOf(): Math.round(x * 1e6) / 1e6.
    c.score = math.floor((c.depth + c.inflight) / math.max(1, c.conc) * 1e6 + 0.5) / 1e6
    if c.score < best then best = c.score end
  end
end
-- Candidates are in seq order: the first tied one after the cursor, else the first tied one.
for _, c in ipairs(elig) do
  if c.tokens == smallest and c.score == best then
    if first == nil then first = c end
    if chosen == nil and c.seq > cursor then chosen = c end
  end
end
chosen = chosen or first
call('HSET', K1_META, 'cursor', chosen.seq)
touch()
return {1, chosen.node, call('HGET', kn(chosen.node), 'caps'), chosen.depth, chosen.inflight, #elig, smallest > wanted and 1 or 0, flat(eligTiers), flat(capTiers)}
`;

const ADMIT = `
local node, client, id, cd = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local bytes, now = tonumber(ARGV[8]), tonumber(ARGV[9])
if call('EXISTS', kn(node)) == 0 or not healthy(node, now) then return {0, 'node_not_found'} end
local rk = rkey(client, id)
if call('EXISTS', kr(rk)) == 1 or clientTomb(rk, now) then return {0, 'request_id_conflict'} end
if call('HEXISTS', ki(node), id) == 1 then return {0, 'request_id_conflict'} end
if call('ZCARD', kq(node)) >= MAX_QPN then return {0, 'node_queue_full'} end
if num(call('HGET', K1_QC, client)) >= MAX_QPC then return {0, 'client_queue_full'} end
if call('ZCARD', K1_XA) + call('ZCARD', K1_XH) >= MAX_REQ or not bytesFit(bytes) then return {0, 'relay_queue_full'} end
local dl = now + DEADLINE
local fields = {'c', client, 'i', id, 'n', node, 'at', n(now), 'dl', n(dl), 'st', 'q', 'ct', ARGV[5], 'ck', ARGV[6], 'iv', ARGV[7], 'b', n(bytes)}
if cd ~= '' then fields[#fields + 1] = 'cd' fields[#fields + 1] = cd end
call('HSET', kr(rk), unpack(fields))
call('PEXPIRE', kr(rk), INDEX_TTL)
call('ZADD', kq(node), call('HINCRBY', K1_META, 'order', 1), rk)
call('HSET', ki(node), id, rk)
call('ZADD', K1_XA, n(dl), rk)
call('ZADD', K1_XQ, n(now), rk)
call('HINCRBY', K1_QC, client, 1)
addBytes(bytes)
refreshAlive(node, now)
touch()
wakeWork(node)
return {1, n(dl), call('ZCARD', kq(node))}
`;

const CLAIM = `
local node, now = ARGV[1], tonumber(ARGV[2])
if call('EXISTS', kn(node)) == 0 then return {0} end
local ended = {}
while true do
  local rk = call('ZRANGE', kq(node), 0, 0)[1]
  if not rk then break end
  local r = call('HMGET', kr(rk), 'c', 'i', 'at', 'dl', 'ct', 'ck', 'iv', 'b')
  local dl = tonumber(r[4])
  if dl <= now then
    endReq(rk, 'expired', 'provider_timeout', now, ended)
  else
    call('ZREM', kq(node), rk)
    call('ZREM', K1_XQ, rk)
    local lease = math.min(now + INFL, dl)
    call('ZADD', kf(node), n(lease), r[2])
    call('HSET', kr(rk), 'st', 'f', 'lu', n(lease), 'b', 0)
    call('HDEL', kr(rk), 'ct', 'ck', 'iv')
    addBytes(-num(r[8]))
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
local rk = rkey(client, id)
local r = call('HMGET', kr(rk), 'st', 'dl', 'n', 'b')
local st = r[1]
if st == 'q' or st == 'f' then
  local ended = {}
  if tonumber(r[2]) <= now then
    endReq(rk, 'expired', 'provider_timeout', now, ended)
    return {0, 'request_gone', 'expired', ended}
  end
  if not bytesFit(bytes - num(r[4])) then return {0, 'response_store_full'} end
  local node = r[3]
  call('ZREM', kq(node), rk)
  call('ZREM', K1_XQ, rk)
  call('ZREM', K1_XA, rk)
  if call('HGET', ki(node), id) == rk then
    call('HDEL', ki(node), id)
    call('ZREM', kf(node), id)
    -- Answering is a sign of life.
    if st == 'f' and call('EXISTS', kn(node)) == 1 then renew(node, now, 0) end
  end
  clientDelta(client, -1)
  local hu = now + RESP_TTL
  call('HDEL', kr(rk), 'pc', 'pk', 'pi')
  call('HSET', kr(rk), 'st', 'h', 'ct', ARGV[3], 'ck', ARGV[4], 'iv', ARGV[5], 'ca', n(now), 'hu', n(hu), 'b', n(bytes))
  call('PEXPIRE', kr(rk), INDEX_TTL)
  addBytes(bytes - num(r[4]))
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
local client, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local function pop(rk)
  local r = call('HMGET', kr(rk), 'i', 'ct', 'ck', 'iv', 'at', 'ca', 'dl', 'b')
  call('ZREM', K1_XH, rk)
  call('ZREM', kh(client), rk)
  addBytes(-num(r[8]))
  call('DEL', kr(rk))
  bury(rk, client, r[1], 'completed', 'completed', false, tonumber(r[7]), now, nil, nil)
  touch()
  return {'response', r[2], r[3], r[4], r[1], r[5], r[6]}
end
if id == '' then
  for _, rk in ipairs(call('ZRANGE', kh(client), 0, -1)) do
    if num(call('HGET', kr(rk), 'hu')) > now then return pop(rk) end
  end
  return {'unknown'}
end
local rk = rkey(client, id)
local r = call('HMGET', kr(rk), 'st', 'hu', 'dl', 'pc', 'pk', 'pi', 'b')
if r[1] == 'h' then
  if tonumber(r[2]) > now then return pop(rk) end
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
    -- Only in-flight requests carry progress, and they hold no other ciphertext.
    call('HDEL', kr(rk), 'pc', 'pk', 'pi')
    call('HSET', kr(rk), 'b', 0)
    addBytes(-num(r[7]))
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
local r = rk and call('HMGET', kr(rk), 'st', 'c', 'dl', 'pc', 'b') or {}
if r[1] ~= 'f' or r[2] ~= client or tonumber(r[3]) <= now then return {0, 'not_active'} end
if not bytesFit(bytes - num(r[5])) then return {0, 'response_store_full'} end
call('HSET', kr(rk), 'pc', ARGV[5], 'pk', ARGV[6], 'pi', ARGV[7], 'b', n(bytes))
addBytes(bytes - num(r[5]))
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
return {evicted, responses, #due, more and 1 or 0, ended}
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
