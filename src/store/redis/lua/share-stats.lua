--[[
  Share usage for metrics (read-only): per per-source hash, how many sources hold something and
  the largest single holder.

  Input:
    KEYS[1..n] the per-source hashes, in SHARE_CAPS order (src/store/redis/share-stats.ts);
               all under the deployment's prefix (one hash tag, one slot)

  Output:
    {{sources, largest use}, ...}   one pair per key, in KEYS order
]]
local out = {}
for i, k in ipairs(KEYS) do
  local top = 0
  for _, v in ipairs(redis.call('HVALS', k)) do
    local x = tonumber(v) or 0
    if x > top then top = x end
  end
  out[i] = {redis.call('HLEN', k), top}
end
return out
