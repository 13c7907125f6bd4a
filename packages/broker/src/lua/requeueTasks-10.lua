--[[
  Return running tasks to the front of the queue after their runner died or was forced to stop:
  either the given tasks, or every task whose lease has lapsed. Only a task charged with a
  runner death counts it (the one the runner was starting when it died); one whose runner died
  poison-limit times because of it is parked in the failed list as poison instead. A lapsed
  lease charges nobody: a host or master died, not a task.
  Input:  KEYS[1] running  KEYS[2] leases  KEYS[3] queued  KEYS[4] crashes  KEYS[5] failed
          KEYS[6] results  KEYS[7] tasks  KEYS[8] distinct  KEYS[9] marker  KEYS[10] stats
          ARGV[1] now ms  ARGV[2] poison limit  ARGV[3] poison result JSON  ARGV[4] 'expired' or 'ids'
          ARGV[5..] triples of id, lease token, 1 charged with the death / 0 not
  Output: { requeued count, poisoned count }
]]
-- @include releaseDistinct
-- @include fingerprintOf
-- @include wake
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local ids, charged = {}, {}
if ARGV[4] == 'expired' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
else
  for i = 5, #ARGV, 3 do
    if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
      ids[#ids + 1] = ARGV[i]
      charged[ARGV[i]] = ARGV[i + 2] == '1'
    end
  end
end
local requeued, poisoned = 0, 0
for _, id in ipairs(ids) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  local crashes = 0
  if charged[id] then crashes = redis.call('HINCRBY', KEYS[4], id, 1) end
  if charged[id] and crashes >= limit then
    redis.call('ZADD', KEYS[5], now, id)
    redis.call('HSET', KEYS[6], id, ARGV[3])
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
