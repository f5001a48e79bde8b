--[[
  Takes `cost` tokens from one token bucket (src/limits/token-bucket.ts line for line: same IEEE
  doubles, same order of operations).

  Input:
    KEYS[1] the bucket: <store prefix>rl:<budget>:<key> (the store's hash tag, when it has one)
    ARGV[1] perMinute (decimal text)
    ARGV[2] burst
    ARGV[3] cost
    ARGV[4] now (ms)
  Numbers come in as decimal text (exact for doubles) and are stored as '%.17g' text, because
  Redis truncates a Lua number reply to an integer and '%.14g' (tostring) would round the state.

  Output:
    {allowed 0|1, whole tokens left, retry-after seconds as text ('-1' = never)}
]]
local key = KEYS[1]
local perMinute, burst, cost, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
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
local allowed, left, wait = 0, tokens, '0'
if tokens >= need then
  allowed, left = 1, tokens - need
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
if allowed == 1 then
  return { 1, math.floor(left), '0' }
end
return { 0, 0, wait }
