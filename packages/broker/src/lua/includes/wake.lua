-- Leave a wake-up marker for claimers blocked on the channel; the list stays short.
local function wake(markerKey)
  redis.call('LPUSH', markerKey, '1')
  redis.call('LTRIM', markerKey, 0, 63)
end
