--[[
  Selects a node for a model and context tier (ranked, round-robin per source, exploration turn).

  Input:
    KEYS[1] <P>counts (every relay script: src/store/redis/lua/common.lua)
    ARGV[1] settings (MessagePack array, common.lua)
    ARGV[2] model id
    ARGV[3] context tier
    ARGV[4] now (ms)

  Output:
    {1, node key, capabilities JSON, queue depth, in flight, eligible count, spillover 0|1, eligible tiers, capacity-limited tiers}
    {0, reason, capacity-limited count, eligible tiers, capacity-limited tiers}
                            reason: no_registered_compute_nodes | no_matching_compute_node | no_available_capacity;
                            tiers: flat {tier, count, ...}
]]
--@include "prelude.lua"
local model, wanted, now = ARGV[2], TIERS[ARGV[3]], tonumber(ARGV[4])
local live, capLimited = 0, 0
local eligTiers, capTiers, elig = {}, {}, {}
local function bump(t, k) t[k] = (t[k] or 0) + 1 end
local function flat(t)
  local out = {}
  for k, v in pairs(t) do out[#out + 1] = k out[#out + 1] = v end
  return out
end
-- Healthy nodes (helpers.lua's healthy(): alive score past now) in one read rather than one
-- ZSCORE per node; the walk stays in v1:nodes order, which ties are broken in.
local alive = {}
for _, node in ipairs(call('ZRANGEBYSCORE', K1_ALIVE, '(' .. n(now), '+inf')) do alive[node] = true end
for _, node in ipairs(call('ZRANGE', K1_NODES, 0, -1)) do
  if alive[node] then
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
grew(K1_META, call('HSET', K1_META, 'cursor', chosen.seq, 'csrc', pickSrc, 'picks', picks))
grew(K1_SCUR, call('HSET', K1_SCUR, pickSrc, chosen.seq))
touch()
return {1, chosen.node, call('HGET', kn(chosen.node), 'caps'), chosen.depth, chosen.inflight, #elig, smallest > wanted and 1 or 0, flat(eligTiers), flat(capTiers)}
