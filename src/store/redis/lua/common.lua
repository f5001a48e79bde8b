--[[
  Shared by every relay script of both protocols: where the keys are, the calling replica's
  settings, number formatting, and the byte ledger both protocols charge.

  Calling convention (every relay script):
    KEYS[1]  <P>counts   HASH the shared totals (queued, bytes, inflight, seq). <P> is KEYS[1]
                         without its 'counts' suffix, and every other key a script touches is
                         <P> .. <family>. <P> carries the deployment's hash tag on Redis Cluster
                         ({...}, src/store/redis/prefix.ts), so every derived key hashes to
                         KEYS[1]'s slot: declaring KEYS[1] routes the script, and nothing it
                         touches lives elsewhere.
    ARGV[1]  settings    MessagePack array: the caller's caps, lifetimes and record sizes, in
                         the order of the locals below (settingValues, src/store/redis/settings.ts).
                         Read per call, never compiled in, so two replicas on different configs
                         each enforce their own on the shared state.
    ARGV[2..]            the script's own arguments (each script's header).
]]
local P = string.sub(KEYS[1], 1, #KEYS[1] - 6)
-- The settings, by name (settingValues' field order).
local nodeTtlMs, requestTtlMs, responseTtlMs, streamTtlMs, maxNodes, maxQueuePerNode, maxQueuePerClient,
  maxQueuedTotal, maxResponses, maxStreamSessions, maxStreamChunks, maxStoredBytes, bytesShare, nodesShare,
  queuePerNodeShare, queuedShare, responsesShare, streamsShare, nodeRecordBytes, jobRecordBytes,
  sessionRecordBytes, nativeGraceMs, sweepBatch, indexTtlMs, v1LeaseMs, v1InflightLeaseMs,
  v1DeadlineMs, v1ResponseTtlMs, v1TerminalTtlMs, v1ControlTombstoneTtlMs, v1MaxQueuePerNode, v1MaxRequests,
  v1MaxTombstones, v1MaxNodesPerSource, v1MaxQueuePerNodePerSource, v1MaxRequestsPerSource, v1AckReplayMs, v1MaxReclaims,
  v1RecordOverhead, v1TombOverhead, contextTiers, exploreEvery = unpack(cmsgpack.unpack(ARGV[1]))
local call = redis.call

-- Integers as plain digits (Lua's default number formatting may switch to exponents).
local function n(v) return string.format('%.0f', v) end
local function num(v) return tonumber(v or '0') or 0 end

local K_COUNT, K_SRCBYTES = KEYS[1], P .. 'srcbytes'
-- The wake-up channel (src/store/redis/wake-fanout.ts): a channel, not a key (no slot).
local WAKE = P .. 'wake'
local MAX_BYTES, SH_BYTES = maxStoredBytes, bytesShare

-- Native TTLs of the shared bookkeeping keys (counts, indexes, per-source tallies): the safety
-- net that frees them once every replica is gone, so each must outlive every entry it indexes.
-- Refreshing all of them on every write was a dozen PEXPIREs per script, a third of a round
-- trip's Redis commands (bench/README.md, bookkeeping TTLs). Instead: a write that may create one (a new member or field: a key is only ever
-- created by one) gives it its TTL at once (grew), and touchAll refreshes the whole family at
-- most every TOUCH_EVERY, a marker key standing for the last refresh. In between every key keeps
-- at least indexTtlMs - TOUCH_EVERY, still past every logical lifetime.
local TOUCH_EVERY = math.floor(nativeGraceMs / 2)
local given = {}
-- 'added': the write's count of new members or fields (ZADD, HSET), > 0 when it may have created key.
local function grew(key, added)
  -- Every time, not once per call: a key emptied (so deleted) and created again within one
  -- script needs its TTL again.
  if added > 0 then
    call('PEXPIRE', key, indexTtlMs)
    given[key] = true
  end
  return added
end
-- HINCRBY on a bookkeeping key; a result equal to d means the field (maybe the key) is new.
local function counter(key, field, d)
  local v = call('HINCRBY', key, field, d)
  if v == d then grew(key, 1) end
  return v
end
local function touchAll(marker, keys)
  if call('EXISTS', marker) == 1 then return end
  for _, k in ipairs(keys) do
    if not given[k] then call('PEXPIRE', k, indexTtlMs) end
  end
  call('SET', marker, '1', 'PX', TOUCH_EVERY)
end
-- A per-source counter: a HASH source -> count; adds d, a field at 0 goes (never below zero).
local function hadd(key, field, d)
  if d == 0 then return end
  if counter(key, field, d) <= 0 then call('HDEL', key, field) end
end
-- Stored bytes of both protocols: the total in counts.bytes, per source in srcbytes.
local function addBytes(d, src)
  if d == 0 then return end
  counter(K_COUNT, 'bytes', d)
  hadd(K_SRCBYTES, src or '-', d)
end
-- nil when src may add 'amount' bytes; else 'share' (its share is full) or 'cap' (the whole cap).
-- freedOwn / freedAny: bytes the same transition releases (of src / of anyone). A share equal to
-- the cap is no share.
local function bytesRefusal(src, amount, freedOwn, freedAny)
  if amount <= 0 then return nil end
  if SH_BYTES < MAX_BYTES and num(call('HGET', K_SRCBYTES, src or '-')) - (freedOwn or 0) + amount > SH_BYTES then return 'share' end
  if num(call('HGET', K_COUNT, 'bytes')) - (freedAny or 0) + amount > MAX_BYTES then return 'cap' end
  return nil
end
