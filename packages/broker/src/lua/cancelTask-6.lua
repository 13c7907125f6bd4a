--[[
  Cancel a task that has not started: drop it from the delayed set or leave its id in the
  queue to be skipped by claimers (O(1) whatever the queue depth).
  Input:  KEYS[1] tasks  KEYS[2] running  KEYS[3] delayed  KEYS[4] distinct  KEYS[5] done  KEYS[6] failed
          ARGV[1] id
  Output: 1 cancelled; 2 running (the caller kills it); -5 unknown id; -3 already finished
]]
-- @include releaseDistinct
-- @include fingerprintOf
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[2], id) == 1 then return 2 end
if redis.call('HEXISTS', KEYS[1], id) == 0 then return -5 end
if redis.call('ZSCORE', KEYS[5], id) or redis.call('ZSCORE', KEYS[6], id) then return -3 end
releaseDistinct(KEYS[4], fingerprintOf(KEYS[1], id))
redis.call('ZREM', KEYS[3], id)
redis.call('HDEL', KEYS[1], id)
return 1
