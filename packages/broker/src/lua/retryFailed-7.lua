--[[
  Put a failed task back at the end of the queue: one more re-run counted, a fresh max_retries
  allowance and a fresh crash count.
  Input:  KEYS[1] failed  KEYS[2] queued  KEYS[3] retries  KEYS[4] crashes  KEYS[5] marker
          KEYS[6] distinct  KEYS[7] tasks
          ARGV[1] id  ARGV[2] now ms  ARGV[3] distinct marker TTL ms
  Output: 1 requeued; -4 not in the failed list
]]
-- @include fingerprintOf
-- @include retriesOf
-- @include wake
local id = ARGV[1]
if redis.call('ZREM', KEYS[1], id) == 0 then return -4 end
local total = retriesOf(KEYS[3], id)
redis.call('HSET', KEYS[3], id, (total + 1) .. ':0')
redis.call('HDEL', KEYS[4], id)
local fingerprint = fingerprintOf(KEYS[7], id)
if fingerprint ~= '' then
  redis.call('ZADD', KEYS[6], tonumber(ARGV[2]) + tonumber(ARGV[3]), fingerprint)
end
redis.call('LPUSH', KEYS[2], id)
wake(KEYS[5])
return 1
