--[[
  Takes tokens from token buckets in order, stopping at the first that refuses (src/limits/token-bucket.ts
  line for line: same IEEE doubles, same order of operations). A refusing bucket spends nothing; the
  takes before it stay spent, the ones after it are not made (rate-counter.ts, takeMany).
  A take may ask for more than its cost (`want`, a lease: src/limits/leasing-counter.ts): when the
  bucket has the cost it takes up to `want` whole tokens, never leaving it below zero; with
  want = cost this is exactly token-bucket.ts's take.

  Input:
    KEYS[1..n] the buckets: <store prefix>rl:<budget>:<key> (all under the store's prefix, so all in
               its hash tag's slot on Redis Cluster)
    ARGV[1]    now (ms)
    ARGV[2 + 4(i-1) ..]  for bucket i: perMinute, burst, cost, want (decimal text; want >= cost)
  Numbers come in as decimal text (exact for doubles) and are stored as '%.17g' text, because
  Redis truncates a Lua number reply to an integer and '%.14g' (tostring) would round the state.

  Output:
    {allowed 0|1, whole tokens left, retry-after seconds as text ('-1' = never), tokens taken, ...}
    four per take made, in KEYS order; the last four are the refusal, if any (taken 0)
]]
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local a = 2 + 4 * (i - 1)
  local perMinute, burst, cost, want = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local rate = perMinute / 60000
  local need = math.min(math.max(cost, 0), burst)
  local saved = redis.call('HMGET', key, 't', 'a')
  local tokens, at
  if saved[1] == false or saved[2] == false then
    tokens, at = burst, now
  else
    local st, sa = tonumber(saved[1]), tonumber(saved[2])
    local elapsed = math.max(0, now - sa)
    tokens = math.min(burst, st + elapsed * rate)
    at = math.max(now, sa)
  end
  local allowed, left, wait, taken = 0, tokens, '0', 0
  if tokens >= need then
    taken = need
    -- A lease: the whole tokens beyond the cost that the bucket holds, up to want.
    local extra = math.floor(math.min(want, burst, tokens) - need)
    if extra > 0 then taken = need + extra end
    allowed, left = 1, tokens - taken
  elseif rate > 0 then
    wait = string.format('%.17g', ((need - tokens) / rate) / 1000)
  else
    wait = '-1'
  end
  redis.call('HSET', key, 't', string.format('%.17g', left), 'a', string.format('%.17g', at))
  -- Forgotten when full again: fullAt(state) in token-bucket.ts, relative to this take's now.
  local ttl = math.ceil(at + (burst - left) / rate - now)
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', key, string.format('%.0f', ttl))
  local o = #out
  if allowed == 1 then
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 1, math.floor(left), '0', taken
  else
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 0, 0, wait, 0
    break
  end
end
return out
