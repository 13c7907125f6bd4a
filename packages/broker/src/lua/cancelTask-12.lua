--[[
  Cancel a task that has not started. It keeps a record (the `cancelled` index, trimmed for
  retention like `done` and `failed`), so its id stays taken and its state reads `cancelled`.
  A delayed task leaves the delayed set; a queued one leaves its id in the queue (an O(N) LREM
  is avoided) and counts it in `stale`, so the claim skips exactly that many entries of the id
  whatever happens to the id afterwards (a record trimmed and the id pushed again runs once).
  Input:  KEYS[1] tasks  KEYS[2] running  KEYS[3] delayed  KEYS[4] distinct  KEYS[5] done  KEYS[6] failed
          KEYS[7] cancelled  KEYS[8] stale  KEYS[9] stale count  KEYS[10] results  KEYS[11] retries
          KEYS[12] stats
          ARGV[1] id  ARGV[2] now ms  ARGV[3] retention count  ARGV[4] retention age ms
  Output: 1 cancelled (or was already); 2 running (the caller kills it); -5 unknown id; -3 already finished
]]
-- @include releaseDistinct
-- @include fingerprintOf
-- @include trimFinished
local id, now = ARGV[1], tonumber(ARGV[2])
if redis.call('HEXISTS', KEYS[2], id) == 1 then return 2 end
if redis.call('HEXISTS', KEYS[1], id) == 0 then return -5 end
if redis.call('ZSCORE', KEYS[7], id) then return 1 end
if redis.call('ZSCORE', KEYS[5], id) or redis.call('ZSCORE', KEYS[6], id) then return -3 end
releaseDistinct(KEYS[4], fingerprintOf(KEYS[1], id))
if redis.call('ZREM', KEYS[3], id) == 0 then
  -- queued: its entry in the list is now stale
  redis.call('HINCRBY', KEYS[8], id, 1)
  redis.call('INCR', KEYS[9])
end
redis.call('ZADD', KEYS[7], now, id)
redis.call('HINCRBY', KEYS[12], 'cancelled', 1)
trimFinished(KEYS[7], KEYS[1], KEYS[10], KEYS[11], now, tonumber(ARGV[3]), tonumber(ARGV[4]), id)
return 1
