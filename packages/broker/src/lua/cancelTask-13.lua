--[[
  Cancel a task that has not started. It keeps a record (the `cancelled` index, trimmed for
  retention like `done` and `failed`), so its id stays taken and its state reads `cancelled`.
  A delayed task leaves the delayed set; a queued one leaves its id in the queue (an O(N) LREM
  is avoided) and counts it in `stale`, so the claim skips exactly that many entries of the id
  whatever happens to the id afterwards (a record trimmed and the id pushed again runs once).
  With -history-url the cancellation is a run of the history (status `cancelled`), pushed to the
  channel's bounded outbox once: a second cancel answers before anything is written.
  Input:  KEYS[1] tasks  KEYS[2] running  KEYS[3] delayed  KEYS[4] distinct  KEYS[5] done  KEYS[6] failed
          KEYS[7] cancelled  KEYS[8] stale  KEYS[9] stale count  KEYS[10] results  KEYS[11] retries
          KEYS[12] stats  KEYS[13] history outbox
          ARGV[1] id  ARGV[2] now ms  ARGV[3] retention count  ARGV[4] retention age ms
          ARGV[5] the run's history record JSON without its attempt ('' when history is off)
          ARGV[6] most runs the history outbox holds
  Output: 1 cancelled (or was already); 2 running (the caller kills it); -5 unknown id; -3 already finished
]]
-- @include releaseDistinct
-- @include fingerprintOf
-- @include retriesOf
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
-- the history outbox, as completeTask fills it: the attempt this cancel took the place of
if ARGV[5] ~= '' then
  if redis.call('LLEN', KEYS[13]) < tonumber(ARGV[6]) then
    redis.call('LPUSH', KEYS[13], string.sub(ARGV[5], 1, -2) .. ',"attempt":' .. (retriesOf(KEYS[11], id) + 1) .. '}')
  else
    redis.call('HINCRBY', KEYS[12], 'history_dropped', 1)
  end
end
trimFinished(KEYS[7], KEYS[1], KEYS[10], KEYS[11], now, tonumber(ARGV[3]), tonumber(ARGV[4]), id)
return 1
