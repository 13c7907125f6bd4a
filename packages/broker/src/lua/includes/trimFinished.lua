-- Keep a finished-task index bounded in count and age, dropping a few entries per call so the
-- cost stays O(1) amortized. Forgets the spec, result and counters of what it drops. `keepId`,
-- the task just added, is never the one dropped for count: entries finished in the same
-- millisecond tie on score, and a tie must not drop the newest record in favour of an older one.
local function trimFinished(indexKey, tasksKey, resultsKey, retriesKey, now, maxCount, maxAgeMs, keepId)
  local dropped = {}
  local excess = redis.call('ZCARD', indexKey) - maxCount
  if excess > 0 then
    local want = math.min(excess, 16)
    local oldest = redis.call('ZRANGE', indexKey, 0, want)
    for i = 1, #oldest do
      if #dropped < want and oldest[i] ~= keepId then dropped[#dropped + 1] = oldest[i] end
    end
    if #dropped > 0 then redis.call('ZREM', indexKey, unpack(dropped)) end
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
