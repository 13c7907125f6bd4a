--[[
  Put a failed task back at the end of the queue with fresh retry and crash counts.
  Input:  KEYS[1] failed  KEYS[2] queued  KEYS[3] retries  KEYS[4] crashes  KEYS[5] marker
          KEYS[6] distinct  KEYS[7] tasks
          ARGV[1] id  ARGV[2] now ms  ARGV[3] distinct marker TTL ms
          KEYS[8] stats (a manual retry counts in `retried`, as an automatic one does)
  Output: 1 requeued; -4 not in the failed list
]]
-- @include fingerprintOf
-- @include wake
local id = ARGV[1]
if redis.call('ZREM', KEYS[1], id) == 0 then return -4 end
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
local fingerprint = fingerprintOf(KEYS[7], id)
if fingerprint ~= '' then
  redis.call('ZADD', KEYS[6], tonumber(ARGV[2]) + tonumber(ARGV[3]), fingerprint)
end
redis.call('LPUSH', KEYS[2], id)
redis.call('HINCRBY', KEYS[8], 'retried', 1)
wake(KEYS[5])
return 1
