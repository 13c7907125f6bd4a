--[[
  Forget a failed task for good.
  Input:  KEYS[1] failed  KEYS[2] tasks  KEYS[3] results  KEYS[4] retries  KEYS[5] crashes
          ARGV[1] id
  Output: 1 deleted; -4 not in the failed list
]]
local id = ARGV[1]
if redis.call('ZREM', KEYS[1], id) == 0 then return -4 end
redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
redis.call('HDEL', KEYS[5], id)
return 1
