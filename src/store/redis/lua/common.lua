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
  v1MaxTombstones, v1MaxNodesPerSource, v1MaxQueuePerNodePerSource, v1MaxRequestsPerSource, v1MaxReclaims,
  v1RecordOverhead, v1TombOverhead, contextTiers, exploreEvery = unpack(cmsgpack.unpack(ARGV[1]))
local call = redis.call

-- Integers as plain digits (Lua's default number formatting may switch to exponents).
local function n(v) return string.format('%.0f', v) end
local function num(v) return tonumber(v or '0') or 0 end

local K_COUNT, K_SRCBYTES = KEYS[1], P .. 'srcbytes'
-- The wake-up channel (src/store/redis/wake-fanout.ts): a channel, not a key (no slot).
local WAKE = P .. 'wake'
local MAX_BYTES, SH_BYTES = maxStoredBytes, bytesShare

-- A per-source counter: a HASH source -> count; adds d, a field at 0 goes (never below zero).
local function hadd(key, field, d)
  if d == 0 then return end
  if call('HINCRBY', key, field, d) <= 0 then call('HDEL', key, field) end
end
-- Stored bytes of both protocols: the total in counts.bytes, per source in srcbytes.
local function addBytes(d, src)
  if d == 0 then return end
  call('HINCRBY', K_COUNT, 'bytes', d)
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
