-- Keep a finished-task index bounded in count and age, dropping a few entries per call so the
-- cost stays O(1) amortized. Forgets the spec, result and counters of what it drops.
local function trimFinished(indexKey, tasksKey, resultsKey, retriesKey, now, maxCount, maxAgeMs)
  local dropped = {}
  local excess = redis.call('ZCARD', indexKey) - maxCount
  if excess > 0 then
    local popped = redis.call('ZPOPMIN', indexKey, math.min(excess, 16))
    for i = 1, #popped, 2 do dropped[#dropped + 1] = popped[i] end
  end
  local old = redis.call('ZRANGEBYSCORE', indexKey, '-inf', now - maxAgeMs, 'LIMIT', 0, 16)
  if #old > 0 then
    redis.call('ZREM', indexKey, unpack(old))
    for i = 1, #old do dropped[#dropped + 1] = old[i] end
  end
  if #dropped > 0 then
    redis.call('HDEL', tasksKey, unpack(dropped))
    redis.call('HDEL', resultsKey, unpack(dropped))
    redis.call('HDEL', retriesKey, unpack(dropped))
  end
end
