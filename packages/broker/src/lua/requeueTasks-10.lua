--[[
  Return running tasks to the front of the queue after their runner died or was forced to stop:
  either the given (id, token) pairs, or every task whose lease has lapsed. A task whose runner
  died poison-limit times while running it is parked in the failed list as poison instead.
  Input:  KEYS[1] running  KEYS[2] leases  KEYS[3] queued  KEYS[4] crashes  KEYS[5] failed
          KEYS[6] results  KEYS[7] tasks  KEYS[8] distinct  KEYS[9] marker  KEYS[10] stats
          ARGV[1] now ms  ARGV[2] poison limit  ARGV[3] 1 count as crash / 0 not
          ARGV[4] poison result JSON  ARGV[5] 'expired' or 'ids'  ARGV[6..] pairs of id, token
  Output: { requeued count, poisoned count }
]]
-- @include releaseDistinct
-- @include fingerprintOf
-- @include wake
local now, limit, countCrash = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local ids = {}
if ARGV[5] == 'expired' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
else
  for i = 6, #ARGV, 2 do
    if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then ids[#ids + 1] = ARGV[i] end
  end
end
local requeued, poisoned = 0, 0
for _, id in ipairs(ids) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  local crashes = 0
  if countCrash then crashes = redis.call('HINCRBY', KEYS[4], id, 1) end
  if countCrash and crashes >= limit then
    redis.call('ZADD', KEYS[5], now, id)
    redis.call('HSET', KEYS[6], id, ARGV[4])
    redis.call('HINCRBY', KEYS[10], 'failed', 1)
    redis.call('HINCRBY', KEYS[10], 'poisoned', 1)
    releaseDistinct(KEYS[8], fingerprintOf(KEYS[7], id))
    poisoned = poisoned + 1
  else
    redis.call('RPUSH', KEYS[3], id)
    requeued = requeued + 1
  end
end
if requeued > 0 then wake(KEYS[9]) end
return { requeued, poisoned }
